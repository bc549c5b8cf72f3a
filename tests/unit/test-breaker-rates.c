/* SPDX-License-Identifier: MIT */
/* The breaker's rate figures (gc_per_minute, memory_growth): batch sums, event-tick spans. */
#include "breaker-fixture.h"

/* Batch scope: one target's GC counter reset counts as that target's increment only. */
static void test_batch_gc_reset(void **state)
{
        static const struct {
                double gc[2];
                double expect_per_min; /* < 0: no data */
        } ticks[] = {
                { { 1000, 5000 }, -1 }, { { 1010, 5010 }, 240 }, { { 1020, 5020 }, 240 },
                { { 1030, 10 }, 240 },  { { 1040, 20 }, 240 },
        };
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_BATCH, 2, COND_GC_PER_MINUTE, 1000);
        fixture_start(&fx);
        for (size_t k = 0; k < ELEMENTSOF(ticks); k++) {
                struct sample s[2];
                const struct sample *sp[2] = { &s[0], &s[1] };
                const struct rules_result *res;

                for (size_t i = 0; i < 2; i++) {
                        s[i] = sample_for('P', (int64_t)k * TICK_MS);
                        s[i].runtime.has_gc_count = true;
                        s[i].runtime.gc_count = ticks[k].gc[i];
                }
                assert_true(breaker_step(fx.b, (int64_t)k * TICK_MS, sp, 2) >= 0);
                res = breaker_last_result(fx.b, 0, 0);
                assert_non_null(res);
                assert_int_equal(res->conds[0].has_value, ticks[k].expect_per_min >= 0);
                if (ticks[k].expect_per_min >= 0)
                        assert_true(fabs(res->conds[0].value - ticks[k].expect_per_min) < 1e-6);
                /* The per-target figures stay available for metrics. */
                assert_int_equal(breaker_target_figures(fx.b, 1)->has[COND_GC_PER_MINUTE], k > 0);
        }
        assert_int_equal(breaker_phase(fx.b), BREAKER_ARMED);
        breaker_free(fx.b);
}

/* The working set for the rate rule test: 512 MiB plus mib, no limit needed. */
static struct sample growth_sample(int64_t t_ms, uint64_t mib)
{
        struct sample s = sample_for('P', t_ms);

        s.memory.current_bytes = GiB / 2 + mib * 1024 * 1024;
        return s;
}

/* growth after a tick at t_ms of 512 + mib MiB; has is false for no-data. */
static double growth_at(struct fixture *fx, int64_t t_ms, uint64_t mib, bool *has)
{
        struct sample s = growth_sample(t_ms, mib);
        const struct sample *sp[1] = { &s };
        const struct rules_figures *f;

        breaker_step(fx->b, t_ms, sp, 1);
        f = breaker_target_figures(fx->b, 0);
        *has = f->has[COND_MEMORY_GROWTH];
        return f->value[COND_MEMORY_GROWTH];
}

/*
 * The rate rule at event ticks: a rate is taken back to a sample at least half an interval
 * old. An event tick 100 ms after the window's first tick has none (no-data, not 1 MiB over
 * 100 ms = 600 MiB/min); one 100 ms after a later regular tick takes the span from the first.
 */
static void test_event_tick_rate_span(void **state)
{
        struct fixture fx;
        bool has;
        double v;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, COND_MEMORY_GROWTH, 100.0 * 1024 * 1024);
        fixture_start(&fx);
        (void)growth_at(&fx, 0, 0, &has);
        assert_false(has);
        (void)growth_at(&fx, 100, 1, &has); /* event tick */
        assert_false(has);
        (void)growth_at(&fx, TICK_MS / 2 - 1, 1, &has); /* still under half an interval */
        assert_false(has);
        v = growth_at(&fx, TICK_MS + 100, 2, &has); /* regular tick */
        assert_true(has);
        assert_true(fabs(v - 2.0 * 1024 * 1024 * 60000 / (TICK_MS + 100)) < 1);
        v = growth_at(&fx, TICK_MS + 200, 3, &has); /* event tick 100 ms after it */
        assert_true(has);
        assert_true(fabs(v - 3.0 * 1024 * 1024 * 60000 / (TICK_MS + 200)) < 1);
        breaker_free(fx.b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_batch_gc_reset),
                cmocka_unit_test(test_event_tick_rate_span),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
