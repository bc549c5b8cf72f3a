/* SPDX-License-Identifier: MIT */
/* The metric registry: its names are unique and found again, and its inputs column agrees
 * with what rules computes each figure from. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "rules.h"

static void test_names(void **state)
{
        (void)state;
        for (int m = 0; m < _COND_MAX; m++) {
                const struct metric_def *d = metric_get(m);

                assert_int_equal(metric_from_name(d->name), m);
                assert_string_equal(cond_metric_key(m), d->rule_key);
                assert_non_null(d->status_key);
                assert_non_null(d->help);
                if (d->family)
                        assert_int_equal(strncmp(d->family, "oombreaker_", 11), 0);
                for (int k = 0; k < m; k++) {
                        assert_string_not_equal(metric_get(k)->name, d->name);
                        assert_string_not_equal(metric_get(k)->rule_key, d->rule_key);
                        assert_string_not_equal(metric_get(k)->status_key, d->status_key);
                }
        }
        assert_int_equal(metric_from_name("nope"), -ENOENT);
        assert_null(metric_get(_COND_MAX));
        assert_null(metric_input_get(_METRIC_INPUT_MAX));
}

static void test_breaches(void **state)
{
        (void)state;
        assert_true(metric_breaches(COND_OOM_KILLS, 1, 1));
        assert_string_equal(metric_cmp_op(COND_OOM_KILLS), ">=");
        assert_false(metric_breaches(COND_MEMORY_RATIO, 0.9, 0.9));
        assert_true(metric_breaches(COND_MEMORY_RATIO, 0.91, 0.9));
        assert_string_equal(metric_cmp_op(COND_PSI_SOME), ">");
        /* The time to the limit: positive and below; at or past it (<= 0) is not "coming". */
        assert_true(metric_breaches(COND_TIME_TO_LIMIT, 29999, 30000));
        assert_false(metric_breaches(COND_TIME_TO_LIMIT, 30000, 30000));
        assert_false(metric_breaches(COND_TIME_TO_LIMIT, 0, 30000));
        assert_false(metric_breaches(COND_TIME_TO_LIMIT, INFINITY, 30000));
        assert_string_equal(metric_cmp_op(COND_TIME_TO_LIMIT), "<");
}

/* A sample with every input present (each has flag set through the registry), or all but
 * input `drop`. Values keep every figure defined: ratios below 1, a growing working set. */
static void sample_without(int drop, int64_t t_ms, struct sample *ret)
{
        struct sample s = { .t_ms = t_ms };

        s.memory.current_bytes = (uint64_t)(1000 + t_ms) << 20;
        s.memory.max_bytes = UINT64_C(8) << 30;
        s.memory.oom_kill = 1;
        s.memory.psi_some_avg10_pct = s.memory.psi_full_avg10_pct = 1;
        s.runtime.gc_count = (double)t_ms;
        s.runtime.heap_used_bytes = 1;
        s.runtime.heap_max_bytes = 2;
        for (int i = 0; i < _METRIC_INPUT_MAX; i++) {
                const struct metric_input_def *in = metric_input_get(i);

                if (i != drop && !in->detail)
                        *(bool *)((char *)&s + in->has_offset) = true;
        }
        *ret = s;
}

/* Ticks a second apart, enough for the per-minute figures' two points and for the
 * forecast to warm up. */
static void figures_without(int drop, struct rules_figures *ret)
{
        struct rules_point storage[4], pt;
        struct forecast fc = { 0 };
        struct forecast_view fv;
        struct rules_window w;
        struct rules_input in;
        struct sample s;

        rules_window_init(&w, storage, 4, 0);
        for (int64_t t = 1000; t <= 1000 + FORECAST_MIN_SPAN_MS; t += 1000) {
                sample_without(drop, t, &s);
                rules_point_from_sample(&s, &pt);
                rules_window_push(&w, &pt);
                rules_input_from_sample(&s, 0, true, 0, &in);
                forecast_tick(&fc, t, in.has_ws, in.ws_bytes, in.has_limit, in.limit_bytes, 60000,
                              &fv);
                rules_figures_compute(&in, &w, &fv, t, ret);
        }
}

/*
 * The inputs column says which trace fields a figure is computed from: with every input
 * each figure has data, and dropping one takes away exactly the figures whose row names it
 * (PSI "some" does not need "full").
 */
static void test_inputs_match_rules(void **state)
{
        struct rules_figures f;

        (void)state;
        figures_without(-1, &f);
        for (int m = 0; m < _COND_MAX; m++)
                if (!f.has[m])
                        fail_msg("%s has no data with every input", cond_metric_to_string(m));
        for (int i = 0; i < _METRIC_INPUT_MAX; i++) {
                if (metric_input_get(i)->detail)
                        continue; /* rides along with another input's flag */
                figures_without(i, &f);
                for (int m = 0; m < _COND_MAX; m++) {
                        bool needs = metric_get(m)->inputs & (1u << i);

                        if (f.has[m] == needs)
                                fail_msg("%s without %s: has data %d, registry needs it %d",
                                         cond_metric_to_string(m), metric_input_get(i)->field,
                                         f.has[m], needs);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_breaches),
                cmocka_unit_test(test_inputs_match_rules),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
