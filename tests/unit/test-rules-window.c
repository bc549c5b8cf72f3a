/* SPDX-License-Identifier: MIT */
/* The rules over a window of samples: rates, the window's span, the forecast's figure. */
#include "rules-fixture.h"

/* ---- windowed figures: a series of points ---- */

struct pt {
        int64_t t_ms;
        double ws, gc; /* NONE = missing */
};

struct window_case {
        const char *name;
        struct pt pts[8];
        size_t n;
        size_t cap;
        enum cond_metric metric;
        double expect; /* NONE = no-data */
};

static const struct window_case window_cases[] = {
        { "gc per minute",
          { { 0, NONE, 100 }, { 5000, NONE, 110 }, { 10000, NONE, 120 } },
          3,
          8,
          COND_GC_PER_MINUTE,
          120 },
        { "gc counter reset counts the new value",
          { { 0, NONE, 100 }, { 5000, NONE, 110 }, { 10000, NONE, 5 } },
          3,
          8,
          COND_GC_PER_MINUTE,
          90 },
        { "gc one sample is no-data", { { 0, NONE, 100 } }, 1, 8, COND_GC_PER_MINUTE, NONE },
        { "gc missing now is no-data",
          { { 0, NONE, 100 }, { 5000, NONE, 110 }, { 10000, 1, NONE } },
          3,
          8,
          COND_GC_PER_MINUTE,
          NONE },
        { "gc gap uses the samples with data",
          { { 0, NONE, 100 }, { 5000, NONE, NONE }, { 10000, NONE, 130 } },
          3,
          8,
          COND_GC_PER_MINUTE,
          180 },
        { "window is (t - 60 s, t]",
          { { 5000, NONE, 0 },
            { 35000, NONE, 1000 },
            { 60000, NONE, 1010 },
            { 65000, NONE, 1030 } },
          4,
          8,
          COND_GC_PER_MINUTE,
          60 },
        { "full ring drops the oldest",
          { { 0, NONE, 0 }, { 10000, NONE, 1000 }, { 20000, NONE, 1010 }, { 30000, NONE, 1020 } },
          4,
          3,
          COND_GC_PER_MINUTE,
          60 },
        { "growth per minute",
          { { 0, 1000 * MiB, NONE }, { 30000, 1060 * MiB, NONE } },
          2,
          8,
          COND_MEMORY_GROWTH,
          120 * MiB },
        { "shrinking is negative growth",
          { { 0, 1000 * MiB, NONE }, { 60000 - 1, 940 * MiB, NONE } },
          2,
          8,
          COND_MEMORY_GROWTH,
          -60 * MiB * 60000.0 / 59999.0 },
        { "growth forgets points older than a minute",
          { { 0, 0, NONE }, { 50000, 100 * MiB, NONE }, { 70000, 110 * MiB, NONE } },
          3,
          8,
          COND_MEMORY_GROWTH,
          30 * MiB },
        { "growth one sample in window",
          { { 0, 0, NONE }, { 60000, 100 * MiB, NONE } },
          2,
          8,
          COND_MEMORY_GROWTH,
          NONE },
};

static void test_window(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(window_cases); i++) {
                const struct window_case *c = &window_cases[i];
                struct rules_point storage[8];
                struct rules_window w;
                struct rules_input in = { 0 };
                struct rules_figures f;
                int64_t t = 0;

                print_message("case: %s\n", c->name);
                rules_window_init(&w, storage, c->cap, 0);
                for (size_t k = 0; k < c->n; k++) {
                        struct rules_point p = {
                                .t_ms = c->pts[k].t_ms,
                                .has_ws = c->pts[k].ws != NONE,
                                .ws_bytes = c->pts[k].ws != NONE ? (uint64_t)c->pts[k].ws : 0,
                                .has_gc = c->pts[k].gc != NONE,
                                .gc_count = c->pts[k].gc,
                        };

                        rules_window_push(&w, &p);
                        t = p.t_ms;
                }
                assert_true(w.n <= c->cap);
                rules_figures_compute(&in, &w, NULL, t, &f);
                assert_int_equal(f.has[c->metric], c->expect != NONE);
                print_message("  value %.9g, expected %.9g\n", f.value[c->metric], c->expect);
                if (c->expect != NONE)
                        assert_true(fabs(f.value[c->metric] - c->expect) <
                                    1e-6 * fabs(c->expect) + 1e-9);
        }
}

static void test_window_ignores_time_going_back(void **state)
{
        struct rules_point storage[4];
        struct rules_window w;
        struct rules_point a = { .t_ms = 5000 }, b = { .t_ms = 1000 };

        (void)state;
        rules_window_init(&w, storage, ELEMENTSOF(storage), 0);
        rules_window_push(&w, &a);
        rules_window_push(&w, &b);
        assert_int_equal(w.n, 1);
        assert_int_equal(rules_window_at(&w, 0)->t_ms, 5000);
        rules_window_clear(&w);
        assert_int_equal(w.n, 0);
}

/*
 * The forecast's figure and outcome: rising gives the time (breach when > 0 and < the
 * threshold), not rising is a pass, warming up is no-data flagged as such (not a sampling
 * error) unless another input is missing too; no limit is plain no-data.
 */
static void test_forecast_figure(void **state)
{
        static const struct {
                const char *name;
                enum forecast_state fs;
                int64_t ttl_ms;
                bool with_growth_missing; /* a second condition without data */
                enum rules_outcome want;
                bool want_warming;
        } cases[] = {
                { "rising, below", FORECAST_RISING, 29999, false, RULES_BREACH, false },
                { "rising, at the threshold", FORECAST_RISING, 30000, false, RULES_PASS, false },
                { "rising, past the limit", FORECAST_RISING, -500, false, RULES_PASS, false },
                { "not rising", FORECAST_NOT_RISING, 0, false, RULES_PASS, false },
                { "warming up", FORECAST_WARMING_UP, 0, false, RULES_NO_DATA, true },
                { "warming up, growth missing", FORECAST_WARMING_UP, 0, true, RULES_NO_DATA,
                  false },
                { "no limit", FORECAST_NO_LIMIT, 0, false, RULES_NO_DATA, false },
                { "no data", FORECAST_NO_DATA, 0, false, RULES_NO_DATA, false },
        };
        struct rules_point storage[4];
        struct rules_window w;
        struct rules_input in = { .has_ws = true, .ws_bytes = 1 };

        (void)state;
        rules_window_init(&w, storage, 4, 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct forecast_view fv = { .state = cases[i].fs };
                struct policy_rule r = { .name = "r" };
                struct rules_figures f;
                struct rules_result res;

                print_message("case: %s\n", cases[i].name);
                fv.prediction.time_to_limit_ms = cases[i].ttl_ms;
                r.has[COND_TIME_TO_LIMIT] = true;
                r.threshold[COND_TIME_TO_LIMIT] = 30000;
                r.has[COND_MEMORY_GROWTH] = cases[i].with_growth_missing;
                rules_figures_compute(&in, &w, &fv, 1000, &f);
                rules_evaluate(&r, &f, &res);
                assert_int_equal(res.outcome, cases[i].want);
                assert_int_equal(res.warming_up, cases[i].want_warming);
        }
        /* Without a forecast (no rule uses it) the figure is plain no-data. */
        {
                struct rules_figures f;

                rules_figures_compute(&in, &w, NULL, 1000, &f);
                assert_false(f.has[COND_TIME_TO_LIMIT]);
                assert_false(f.warming_up[COND_TIME_TO_LIMIT]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_window_ignores_time_going_back),
                cmocka_unit_test(test_forecast_figure),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
