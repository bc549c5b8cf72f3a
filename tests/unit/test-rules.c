/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "util.h"

#define MiB       (1024.0 * 1024.0)
#define GiB       (1024.0 * MiB)
#define NONE      (-1.0) /* a missing figure in the tables below */
#define UNLIMITED (-2.0)

/* One sample as a table row: the figures named in has are present. */
enum {
        CUR = 1 << 0,
        MAX = 1 << 1,
        INACT = 1 << 2,
        OOM = 1 << 3,
        GC = 1 << 4,
        HU = 1 << 5,
        HM = 1 << 6,
        PSI_S = 1 << 7,
        PSI_F = 1 << 8,
        PSI = PSI_S | PSI_F
};

struct row {
        unsigned has;
        double current, max, inactive, oom, gc, heap_used, heap_max, psi_some, psi_full;
};

static struct sample sample_of(int64_t t_ms, const struct row *r)
{
        struct sample s = { .t_ms = t_ms };
        struct mem_sample *m = &s.memory;

        m->has_current = r->has & CUR;
        m->current_bytes = (uint64_t)r->current;
        m->has_max = r->has & MAX;
        m->max_unlimited = r->max == UNLIMITED;
        m->max_bytes = r->max >= 0 ? (uint64_t)r->max : 0;
        m->has_inactive_file = r->has & INACT;
        m->inactive_file_bytes = (uint64_t)r->inactive;
        m->has_oom_kill = r->has & OOM;
        m->oom_kill = (uint64_t)r->oom;
        m->has_psi_some = r->has & PSI_S;
        m->has_psi_full = r->has & PSI_F;
        m->psi_some_avg10_pct = r->psi_some;
        m->psi_full_avg10_pct = r->psi_full;
        s.runtime.has_gc_count = r->has & GC;
        s.runtime.gc_count = r->gc;
        s.runtime.has_heap_used = r->has & HU;
        s.runtime.heap_used_bytes = r->heap_used;
        s.runtime.has_heap_max = r->has & HM;
        s.runtime.heap_max_bytes = r->heap_max;
        return s;
}

/* ---- instant conditions: one sample, one rule ---- */

struct cond_spec {
        enum cond_metric metric;
        double threshold;
};

struct instant_case {
        const char *name;
        struct row row;
        uint64_t fallback_limit;
        bool has_baseline;
        uint64_t baseline;
        struct cond_spec conds[3];
        size_t n_conds;
        enum rules_outcome expect;
        double expect_value0; /* value of the first condition, NONE = no data */
};

static const struct instant_case instant_cases[] = {
        { "ratio breach",
          { .has = CUR | INACT | MAX,
            .current = 1.9 * GiB + 10 * MiB,
            .inactive = 10 * MiB,
            .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.92 } },
          1,
          RULES_BREACH,
          0.95 },
        { "page cache is not working set",
          { .has = CUR | INACT | MAX, .current = 1.95 * GiB, .inactive = 1 * GiB, .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.92 } },
          1,
          RULES_PASS,
          0.475 },
        { "above is strict",
          { .has = CUR | INACT | MAX, .current = 1 * GiB, .inactive = 0, .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.5 } },
          1,
          RULES_PASS,
          0.5 },
        { "no limit uses memory_limit",
          { .has = CUR | INACT | MAX, .current = 1 * GiB, .inactive = 0, .max = UNLIMITED },
          4 * (uint64_t)GiB,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.2 } },
          1,
          RULES_BREACH,
          0.25 },
        { "no limit at all is no-data",
          { .has = CUR | INACT | MAX, .current = 1 * GiB, .inactive = 0, .max = UNLIMITED },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.2 } },
          1,
          RULES_NO_DATA,
          NONE },
        { "unknown limit is no-data",
          { .has = CUR | INACT, .current = 1 * GiB, .inactive = 0 },
          4 * (uint64_t)GiB,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.2 } },
          1,
          RULES_NO_DATA,
          NONE },
        { "missing inactive_file is no-data",
          { .has = CUR | MAX, .current = 1 * GiB, .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_BYTES, 1 } },
          1,
          RULES_NO_DATA,
          NONE },
        { "bytes above",
          { .has = CUR | INACT, .current = 600 * MiB, .inactive = 50 * MiB },
          0,
          false,
          0,
          { { COND_MEMORY_BYTES, 512 * MiB } },
          1,
          RULES_BREACH,
          550 * MiB },
        { "oom kills since arming only",
          { .has = OOM, .oom = 3 },
          0,
          true,
          3,
          { { COND_OOM_KILLS, 1 } },
          1,
          RULES_PASS,
          0 },
        { "oom kill at least is >=",
          { .has = OOM, .oom = 4 },
          0,
          true,
          3,
          { { COND_OOM_KILLS, 1 } },
          1,
          RULES_BREACH,
          1 },
        { "oom counter reset counts its value",
          { .has = OOM, .oom = 1 },
          0,
          true,
          3,
          { { COND_OOM_KILLS, 1 } },
          1,
          RULES_BREACH,
          1 },
        { "oom without baseline is no-data",
          { .has = OOM, .oom = 5 },
          0,
          false,
          0,
          { { COND_OOM_KILLS, 1 } },
          1,
          RULES_NO_DATA,
          NONE },
        { "heap ratio",
          { .has = HU | HM, .heap_used = 900, .heap_max = 1000 },
          0,
          false,
          0,
          { { COND_HEAP_RATIO, 0.85 } },
          1,
          RULES_BREACH,
          0.9 },
        { "heap max 0 is no-data",
          { .has = HU | HM, .heap_used = 900, .heap_max = 0 },
          0,
          false,
          0,
          { { COND_HEAP_RATIO, 0.85 } },
          1,
          RULES_NO_DATA,
          NONE },
        { "psi some and full",
          { .has = PSI, .psi_some = 12.5, .psi_full = 2.0 },
          0,
          false,
          0,
          { { COND_PSI_SOME, 10 }, { COND_PSI_FULL, 1 } },
          2,
          RULES_BREACH,
          12.5 },
        /* Each PSI figure stands alone, as the rule names it. */
        { .name = "psi some alone breaches a psi_some rule",
          .row = { .has = PSI_S, .psi_some = 12.5 },
          .conds = { { COND_PSI_SOME, 10 } },
          .n_conds = 1,
          .expect = RULES_BREACH,
          .expect_value0 = 12.5 },
        { .name = "psi some alone leaves a psi_full rule no-data",
          .row = { .has = PSI_S, .psi_some = 12.5 },
          .conds = { { COND_PSI_FULL, 1 } },
          .n_conds = 1,
          .expect = RULES_NO_DATA,
          .expect_value0 = NONE },
        { .name = "psi full alone breaches a psi_full rule",
          .row = { .has = PSI_F, .psi_full = 2.0 },
          .conds = { { COND_PSI_FULL, 1 } },
          .n_conds = 1,
          .expect = RULES_BREACH,
          .expect_value0 = 2.0 },
        { "one false beats a missing one",
          { .has = CUR | INACT | MAX, .current = 1 * GiB, .inactive = 0, .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.9 }, { COND_HEAP_RATIO, 0.5 } },
          2,
          RULES_PASS,
          0.5 },
        { "one holding and one missing is no-data",
          { .has = CUR | INACT | MAX, .current = 1 * GiB, .inactive = 0, .max = 2 * GiB },
          0,
          false,
          0,
          { { COND_MEMORY_RATIO, 0.4 }, { COND_HEAP_RATIO, 0.5 } },
          2,
          RULES_NO_DATA,
          0.5 },
        { "no conditions pass",
          { .has = CUR, .current = 1 },
          0,
          false,
          0,
          { { 0 } },
          0,
          RULES_PASS,
          NONE },
};

static void test_instant(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(instant_cases); i++) {
                const struct instant_case *c = &instant_cases[i];
                struct sample s = sample_of(1000, &c->row);
                struct policy_rule rule = { .name = "r" };
                struct rules_point storage[4], pt;
                struct rules_window w;
                struct rules_input in;
                struct rules_figures f;
                struct rules_result res;

                print_message("case: %s\n", c->name);
                for (size_t k = 0; k < c->n_conds; k++) {
                        rule.has[c->conds[k].metric] = true;
                        rule.threshold[c->conds[k].metric] = c->conds[k].threshold;
                }
                rules_window_init(&w, storage, ELEMENTSOF(storage), 0);
                rules_point_from_sample(&s, &pt);
                rules_window_push(&w, &pt);
                rules_input_from_sample(&s, c->fallback_limit, c->has_baseline, c->baseline, &in);
                rules_figures_compute(&in, &w, NULL, s.t_ms, &f);
                rules_evaluate(&rule, &f, &res);
                assert_string_equal(rules_outcome_to_string(res.outcome),
                                    rules_outcome_to_string(c->expect));
                assert_int_equal(res.n_conds, c->n_conds);
                if (c->n_conds == 0)
                        continue;
                assert_int_equal(res.conds[0].has_value, c->expect_value0 != NONE);
                if (c->expect_value0 != NONE)
                        assert_true(fabs(res.conds[0].value - c->expect_value0) < 1e-3);
        }
}

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
                cmocka_unit_test(test_instant),
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_window_ignores_time_going_back),
                cmocka_unit_test(test_forecast_figure),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
