/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "forecast.h"
#include "util.h"

#define MiB     (UINT64_C(1024) * 1024)
#define WINDOW  (120 * 1000)    /* the default forecast_window, 2m */
#define NEVER   INT64_MIN       /* the trend never reaches the limit (-ERANGE) */
#define WARMING (INT64_MIN + 1) /* fewer samples than the minimum (-ENODATA) */

/* A series of working sets, one every step_ms, then the verdict at the last sample. */
struct series_case {
        const char *name;
        int64_t step_ms;
        size_t n;
        uint64_t mib[16];
        uint64_t limit_mib;
        int64_t want_ms; /* NEVER, WARMING, or the time to the limit (±1 %) */
};

static const struct series_case series_cases[] = {
        { "steady leak 0.2 MiB/s", 5000, 5, { 100, 101, 102, 103, 104 }, 200, 480000 },
        { "fast leak 16 MiB/s",
          1000,
          11,
          { 10, 26, 42, 58, 74, 90, 106, 122, 138, 154, 170 },
          256,
          5375 },
        { "flat", 5000, 6, { 80, 80, 80, 80, 80, 80 }, 256, NEVER },
        { "falling", 5000, 5, { 90, 85, 80, 75, 70 }, 256, NEVER },
        { "GC sawtooth, no trend",
          1000,
          12,
          { 60, 90, 60, 90, 60, 90, 60, 90, 60, 90, 60, 90 },
          256,
          0 },
        { "three samples warm up", 1000, 3, { 10, 20, 30 }, 256, WARMING },
        { "under 10 s of samples warm up",
          1000,
          10,
          { 10, 26, 42, 58, 74, 90, 106, 122, 138, 154 },
          256,
          WARMING },
        { "restart restarts the window", 5000, 6, { 200, 210, 220, 20, 21, 22 }, 256, WARMING },
        { "already past the limit", 5000, 4, { 250, 260, 270, 280 }, 256, -12000 },
        /* A cache filled at start-up: the window's line still rises, the recent one is flat. */
        { "burst that stopped",
          1000,
          12,
          { 5, 25, 45, 65, 85, 94, 94, 94, 94, 94, 94, 94 },
          256,
          NEVER },
};

static int64_t verdict(const struct series_case *c)
{
        struct forecast f = { 0 };
        struct forecast_prediction p;
        int64_t t = 0;
        int r;

        for (size_t i = 0; i < c->n; i++, t += c->step_ms)
                assert_int_equal(forecast_add(&f, t, c->mib[i] * MiB, WINDOW), 0);
        r = forecast_predict(&f, t - c->step_ms, c->limit_mib * MiB, &p);
        if (r == -ENODATA)
                return WARMING;
        if (r == -ERANGE)
                return NEVER;
        assert_int_equal(r, 0);
        return p.time_to_limit_ms;
}

static void test_series(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(series_cases); i++) {
                const struct series_case *c = &series_cases[i];
                int64_t got = verdict(c);

                print_message("%s: %lld\n", c->name, (long long)got);
                if (c->want_ms == NEVER || c->want_ms == WARMING) {
                        assert_int_equal(got, c->want_ms);
                } else if (c->want_ms == 0) {
                        /* The sawtooth's fitted trend is small against its swing: far off. */
                        assert_true(got == NEVER || got > 60 * 1000);
                } else {
                        int64_t tol = c->want_ms > 0 ? c->want_ms / 100 : -c->want_ms / 100;

                        assert_in_range(got, c->want_ms - tol - 1, c->want_ms + tol + 1);
                }
        }
}

static void test_window_drops_old_samples(void **state)
{
        struct forecast f = { 0 };
        struct forecast_fit fit;

        (void)state;
        /* A leak that stopped two minutes ago: once the window holds only the flat part, the
         * trend is flat. */
        for (int64_t t = 0; t <= 60000; t += 5000)
                assert_int_equal(forecast_add(&f, t, (uint64_t)(100 + t / 1000) * MiB, WINDOW), 0);
        for (int64_t t = 65000; t <= 200000; t += 5000)
                assert_int_equal(forecast_add(&f, t, 160 * MiB, WINDOW), 0);
        assert_int_equal(forecast_fit(&f, &fit), 0);
        assert_true(fit.t0_ms >= 200000 - WINDOW);
        assert_true(fit.slope_bytes_per_s < 1.0);
}

static void test_ring_keeps_newest(void **state)
{
        struct forecast f = { 0 };
        struct forecast_fit fit;
        int64_t ms;

        (void)state;
        /* More samples than the ring holds, in a long window: the newest stay. */
        for (int64_t i = 0; i < 3 * FORECAST_SAMPLES_MAX; i++)
                assert_int_equal(forecast_add(&f, i * 100, (uint64_t)(100 + i) * MiB, 3600000), 0);
        assert_int_equal(f.n, FORECAST_SAMPLES_MAX);
        assert_int_equal(forecast_fit(&f, &fit), 0);
        assert_int_equal(fit.t0_ms, (3 * FORECAST_SAMPLES_MAX - FORECAST_SAMPLES_MAX) * 100);
        /* 1 MiB per 100 ms = 10 MiB/s */
        assert_in_range((int64_t)(fit.slope_bytes_per_s / (double)MiB * 1000), 9990, 10010);
        assert_int_equal(forecast_time_to_limit(&fit, fit.t0_ms, 10000 * MiB, &ms), 0);
}

/* A leak that starts after a flat spell: the window's line lags the recent one, and the
 * prediction is the later (the window's) of the two. */
static void test_later_of_two_lines(void **state)
{
        struct forecast f = { 0 };
        struct forecast_prediction p;
        int64_t whole, recent, t = 0;

        (void)state;
        for (int i = 0; i < 20; i++, t += 1000)
                assert_int_equal(forecast_add(&f, t,
                                              (uint64_t)(i < 16 ? 100 : 100 + 10 * (i - 15)) * MiB,
                                              WINDOW),
                                 0);
        t -= 1000;
        assert_int_equal(forecast_predict(&f, t, 1000 * MiB, &p), 0);
        assert_int_equal(p.window.n, 20);
        assert_int_equal(p.recent.n, FORECAST_MIN_SAMPLES);
        assert_int_equal(forecast_time_to_limit(&p.window, t, 1000 * MiB, &whole), 0);
        assert_int_equal(forecast_time_to_limit(&p.recent, t, 1000 * MiB, &recent), 0);
        assert_true(recent < whole);
        assert_int_equal(p.time_to_limit_ms, whole);
        /* 10 MiB/s from 140 MiB: 86 s by the recent line. */
        assert_in_range(recent, 85000, 87000);
}

static void test_time_must_advance(void **state)
{
        struct forecast f = { 0 };

        (void)state;
        assert_int_equal(forecast_add(&f, 1000, MiB, WINDOW), 0);
        assert_int_equal(forecast_add(&f, 1000, 2 * MiB, WINDOW), -EINVAL);
        assert_int_equal(forecast_add(&f, 500, 2 * MiB, WINDOW), -EINVAL);
        assert_int_equal(f.n, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_series),
                cmocka_unit_test(test_window_drops_old_samples),
                cmocka_unit_test(test_ring_keeps_newest),
                cmocka_unit_test(test_later_of_two_lines),
                cmocka_unit_test(test_time_must_advance),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
