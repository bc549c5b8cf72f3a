/* SPDX-License-Identifier: MIT */
/* The rules on one sample: instant conditions and how their outcomes combine. */
#include "rules-fixture.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_instant),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
