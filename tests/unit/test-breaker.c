/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"
#include "util.h"

#define GiB      (1024ULL * 1024 * 1024)
#define TICK_MS  5000
#define MAX_TGTS 2

/*
 * Scripts: one character per tick and target.
 *   'B'  working set 0.95 of a 1 GiB limit (breaches memory_ratio_above 0.9)
 *   'P'  working set 0.5 of it (passes)
 *   '-'  no sample at all this tick (no-data)
 *   '0'..'9'  a passing working set, and that cumulative oom_kill count
 */
static struct sample sample_for(char code, int64_t t_ms)
{
        struct sample s = { .t_ms = t_ms };

        s.memory.has_current = s.memory.has_inactive_file = s.memory.has_max = true;
        s.memory.max_bytes = GiB;
        s.memory.inactive_file_bytes = 0;
        s.memory.current_bytes = code == 'B' ? GiB * 95 / 100 : GiB / 2;
        s.memory.has_oom_kill = true;
        s.memory.oom_kill = code >= '0' && code <= '9' ? (uint64_t)(code - '0') : 0;
        return s;
}

struct fixture {
        struct policy p;
        struct policy_target targets[MAX_TGTS];
        struct policy_rule rules[2];
        struct breaker *b;
};

static void fixture_init(struct fixture *fx, enum policy_scope scope, size_t n_targets,
                         enum cond_metric metric, double threshold)
{
        memset(fx, 0, sizeof(*fx));
        strcpy(fx->p.name, "batch-t");
        fx->p.interval_ms = TICK_MS;
        fx->p.consecutive = 3;
        fx->p.max_errors = 4;
        fx->p.scope = scope;
        fx->p.targets = fx->targets;
        fx->p.n_targets = n_targets;
        for (size_t i = 0; i < n_targets; i++)
                snprintf(fx->targets[i].name, sizeof(fx->targets[i].name), "t%zu", i);
        fx->p.rules = fx->rules;
        fx->p.n_rules = 1;
        strcpy(fx->rules[0].name, "r");
        fx->rules[0].has[metric] = true;
        fx->rules[0].threshold[metric] = threshold;
}

static void fixture_start(struct fixture *fx)
{
        assert_int_equal(breaker_new(&fx->p, 0, &fx->b), 0);
}

/* Runs tick k of the scripts; returns the number of transitions. */
static int run_tick(struct fixture *fx, const char *const *scripts, size_t k)
{
        struct sample s[MAX_TGTS];
        const struct sample *sp[MAX_TGTS] = { NULL };

        for (size_t i = 0; i < fx->p.n_targets; i++) {
                s[i] = sample_for(scripts[i][k], (int64_t)k * TICK_MS);
                sp[i] = scripts[i][k] == '-' ? NULL : &s[i];
        }
        return breaker_step(fx->b, (int64_t)k * TICK_MS, sp, fx->p.n_targets);
}

static char phase_char(enum breaker_phase p)
{
        return breaker_phase_to_string(p)[0]; /* armed breaching tripped inconclusive */
}

struct case_ {
        const char *name;
        enum policy_scope scope;
        size_t n_targets;
        enum cond_metric metric;
        double threshold;
        unsigned rule_consecutive; /* 0 = the batch's 3 */
        unsigned max_errors;
        bool batch_dry_run, rule_dry_run;
        const char *scripts[MAX_TGTS];
        const char *phases; /* after each tick: a b t i */
        const char *streak; /* of (instance 0, rule 0) after each tick */
        int trip_tick;      /* -1 = never trips */
        const char *trip_instance;
        int would_trips;
};

#define RATIO COND_MEMORY_RATIO, 0.9
#define OOM   COND_OOM_KILLS, 1

static const struct case_ cases[] = {
        { "trips exactly at the 3rd breach",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBB" },
          "bbt",
          "123",
          2,
          "t0",
          0 },
        { "two breaches then a pass",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBP" },
          "bba",
          "120",
          -1,
          NULL,
          0 },
        { "breach breach pass breach breach",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBPBB" },
          "bbabb",
          "12012",
          -1,
          NULL,
          0 },
        { "no-data holds the streak",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          false,
          { "BB-B" },
          "bbbt",
          "1223",
          3,
          "t0",
          0 },
        { "a trip latches",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBBPPP" },
          "bbtttt",
          "123333",
          2,
          "t0",
          0 },
        { "per-rule consecutive 1",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          1,
          4,
          false,
          false,
          { "PB" },
          "at",
          "01",
          1,
          "t0",
          0 },
        { "per-rule consecutive 5",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          5,
          4,
          false,
          false,
          { "BBBBB" },
          "bbbbt",
          "12345",
          4,
          "t0",
          0 },
        { "inconclusive after max_errors, then trips",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          2,
          false,
          false,
          { "B---BB" },
          "bbiibt",
          "111123",
          5,
          "t0",
          0 },
        { "inconclusive recovers to armed",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          2,
          false,
          false,
          { "--P" },
          "aia",
          "000",
          -1,
          NULL,
          0 },
        { "max_errors 0 never turns inconclusive",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          0,
          false,
          false,
          { "------" },
          "aaaaaa",
          "000000",
          -1,
          NULL,
          0 },
        { "an inconclusive instance does not stop another",
          POLICY_SCOPE_INSTANCE,
          2,
          RATIO,
          0,
          1,
          false,
          false,
          { "---", "BBB" },
          "iit",
          "000",
          2,
          "t1",
          0 },
        { "instance scope: one instance trips",
          POLICY_SCOPE_INSTANCE,
          2,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBB", "PPP" },
          "bbt",
          "123",
          2,
          "t0",
          0 },
        { "batch scope: sums dilute one instance",
          POLICY_SCOPE_BATCH,
          2,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBB", "PPP" },
          "aaa",
          "000",
          -1,
          NULL,
          0 },
        { "batch scope: both breach",
          POLICY_SCOPE_BATCH,
          2,
          RATIO,
          0,
          4,
          false,
          false,
          { "BBB", "BBB" },
          "bbt",
          "123",
          2,
          "*",
          0 },
        { "batch scope: a missing target is no-data",
          POLICY_SCOPE_BATCH,
          2,
          RATIO,
          0,
          4,
          false,
          false,
          { "B-BB", "BBBB" },
          "bbbt",
          "1123",
          3,
          "*",
          0 },
        { "batch dry run reports once per streak",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          true,
          false,
          { "BBBBPBBB" },
          "bbbbabbb",
          "12340123",
          -1,
          NULL,
          2 },
        { "rule dry run",
          POLICY_SCOPE_INSTANCE,
          1,
          RATIO,
          0,
          4,
          false,
          true,
          { "BBBB" },
          "bbbb",
          "1234",
          -1,
          NULL,
          1 },
        { "oom kills before arming never trip",
          POLICY_SCOPE_INSTANCE,
          1,
          OOM,
          1,
          4,
          false,
          false,
          { "5555" },
          "aaaa",
          "0000",
          -1,
          NULL,
          0 },
        { "an oom kill after arming trips at once",
          POLICY_SCOPE_INSTANCE,
          1,
          OOM,
          1,
          4,
          false,
          false,
          { "2223" },
          "aaat",
          "0001",
          3,
          "t0",
          0 },
        { "batch scope: oom kills summed since arming",
          POLICY_SCOPE_BATCH,
          2,
          OOM,
          1,
          4,
          false,
          false,
          { "4444", "0001" },
          "aaat",
          "0001",
          3,
          "*",
          0 },
};

static void run_case(const struct case_ *c)
{
        struct fixture fx;
        int would = 0;
        int64_t first_would_ms = -1;
        size_t n_ticks = strlen(c->phases);

        fixture_init(&fx, c->scope, c->n_targets, c->metric, c->threshold);
        fx.rules[0].consecutive = c->rule_consecutive;
        fx.rules[0].dry_run = c->rule_dry_run;
        fx.p.dry_run = c->batch_dry_run;
        fx.p.max_errors = c->max_errors;
        fixture_start(&fx);
        for (size_t k = 0; k < n_ticks; k++) {
                int n = run_tick(&fx, c->scripts, k);
                size_t nt;
                const struct breaker_transition *tv = breaker_transitions(fx.b, &nt);

                assert_true(n >= 0);
                assert_int_equal((size_t)n, nt);
                for (size_t i = 0; i < nt; i++) {
                        if (tv[i].dry_run && would++ == 0)
                                first_would_ms = tv[i].t_ms;
                }
                print_message("  tick %zu: phase %s streak %u\n", k,
                              breaker_phase_to_string(breaker_phase(fx.b)),
                              breaker_streak(fx.b, 0, 0));
                assert_int_equal(phase_char(breaker_phase(fx.b)), c->phases[k]);
                assert_int_equal(breaker_streak(fx.b, 0, 0), (unsigned)(c->streak[k] - '0'));
        }
        assert_int_equal(would, c->would_trips);
        if (c->trip_tick < 0) {
                assert_null(breaker_trip(fx.b));
        } else {
                const struct breaker_trip *t = breaker_trip(fx.b);

                assert_non_null(t);
                assert_int_equal(t->t_ms, (int64_t)c->trip_tick * TICK_MS);
                assert_string_equal(t->instance, c->trip_instance);
                assert_int_equal(t->consecutive, t->limit);
        }
        assert_int_equal(breaker_would_trip(fx.b) != NULL, c->would_trips > 0);
        if (c->would_trips > 0) /* the first one is kept: where a real trip would have latched */
                assert_int_equal(breaker_would_trip(fx.b)->t_ms, first_would_ms);
        breaker_free(fx.b);
}

static void test_cases(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case: %s\n", cases[i].name);
                run_case(&cases[i]);
        }
}

static void test_transitions_and_reason(void **state)
{
        static const char *const scripts[] = { "BBB" };
        static const struct {
                size_t tick;
                const char *from, *to;
        } expect[] = { { 0, "armed", "breaching" }, { 2, "breaching", "tripped" } };
        struct fixture fx;
        size_t seen = 0;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fixture_start(&fx);
        for (size_t k = 0; k < 3; k++) {
                size_t nt;
                const struct breaker_transition *tv;

                run_tick(&fx, scripts, k);
                tv = breaker_transitions(fx.b, &nt);
                for (size_t i = 0; i < nt; i++, seen++) {
                        assert_true(seen < ELEMENTSOF(expect));
                        assert_int_equal(tv[i].t_ms, (int64_t)expect[seen].tick * TICK_MS);
                        assert_int_equal(k, expect[seen].tick);
                        assert_string_equal(breaker_phase_to_string(tv[i].from), expect[seen].from);
                        assert_string_equal(breaker_phase_to_string(tv[i].to), expect[seen].to);
                        assert_string_equal(tv[i].instance, "t0");
                        assert_string_equal(tv[i].rule, "r");
                        assert_false(tv[i].dry_run);
                }
        }
        assert_int_equal(seen, ELEMENTSOF(expect));
        {
                const struct breaker_trip *t = breaker_trip(fx.b);

                assert_non_null(t);
                assert_string_equal(t->rule, "r");
                assert_int_equal(t->consecutive, 3);
                assert_int_equal(t->limit, 3);
                assert_false(t->dry_run);
                assert_int_equal(t->n_conditions, 1);
                assert_int_equal(t->conditions[0].metric, COND_MEMORY_RATIO);
                assert_true(t->conditions[0].has_value);
                assert_true(fabs(t->conditions[0].value - 0.95) < 1e-6);
                assert_true(fabs(t->conditions[0].threshold - 0.9) < 1e-12);
        }
        /* Latched: further ticks report nothing and change nothing. */
        assert_int_equal(run_tick(&fx, (const char *const[]){ "PPPP" }, 3), 0);
        assert_int_equal(breaker_phase(fx.b), BREAKER_TRIPPED);
        breaker_free(fx.b);
}

static void test_dry_run_transition(void **state)
{
        static const char *const scripts[] = { "B" };
        struct fixture fx;
        const struct breaker_transition *tv;
        size_t nt;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fx.rules[0].consecutive = 1;
        fx.rules[0].dry_run = true;
        fixture_start(&fx);
        assert_int_equal(run_tick(&fx, scripts, 0), 2);
        tv = breaker_transitions(fx.b, &nt);
        /* The phase change comes first; the would-trip starts from the new phase. */
        assert_int_equal(tv[0].from, BREAKER_ARMED);
        assert_int_equal(tv[0].to, BREAKER_BREACHING);
        assert_false(tv[0].dry_run);
        assert_int_equal(tv[1].from, BREAKER_BREACHING);
        assert_int_equal(tv[1].to, BREAKER_TRIPPED);
        assert_true(tv[1].dry_run);
        assert_int_equal(breaker_phase(fx.b), BREAKER_BREACHING);
        assert_null(breaker_trip(fx.b));
        assert_non_null(breaker_would_trip(fx.b));
        assert_true(breaker_would_trip(fx.b)->dry_run);
        breaker_free(fx.b);
}

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

static void test_reset_retakes_oom_baseline(void **state)
{
        static const char *const before[] = { "01" }, *const after[] = { "112" };
        struct fixture fx;
        uint64_t base = 99;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, OOM);
        fx.rules[0].consecutive = 1;
        fixture_start(&fx);
        assert_false(breaker_oom_baseline(fx.b, 0, &base));
        assert_int_equal(base, 99);
        run_tick(&fx, before, 0);
        run_tick(&fx, before, 1);
        assert_int_equal(breaker_phase(fx.b), BREAKER_TRIPPED);
        breaker_reset(fx.b);
        assert_int_equal(breaker_phase(fx.b), BREAKER_ARMED);
        assert_null(breaker_trip(fx.b));
        assert_int_equal(breaker_streak(fx.b, 0, 0), 0);
        run_tick(&fx, after, 0); /* the kill from before the reset does not count */
        run_tick(&fx, after, 1);
        assert_true(breaker_oom_baseline(fx.b, 0, &base));
        assert_int_equal(base, 1);
        assert_int_equal(breaker_phase(fx.b), BREAKER_ARMED);
        run_tick(&fx, after, 2);
        assert_int_equal(breaker_phase(fx.b), BREAKER_TRIPPED);
        /* A restored baseline wins over the first sample. */
        breaker_reset(fx.b);
        assert_int_equal(breaker_set_oom_baseline(fx.b, 0, 0), 0);
        assert_int_equal(breaker_set_oom_baseline(fx.b, 1, 0), -EINVAL);
        run_tick(&fx, after, 0);
        assert_int_equal(breaker_phase(fx.b), BREAKER_TRIPPED);
        breaker_free(fx.b);
}

static void test_outside_changes(void **state)
{
        static const struct {
                enum breaker_phase from, to;
                int expect;
        } changes[] = {
                { BREAKER_TRIPPED, BREAKER_ROLLED_BACK, 0 },
                { BREAKER_TRIPPED, BREAKER_FAILED, 0 },
                { BREAKER_FAILED, BREAKER_ROLLED_BACK, 0 },
                { BREAKER_ARMED, BREAKER_ROLLED_BACK, -EINVAL },
                { BREAKER_ROLLED_BACK, BREAKER_FAILED, -EINVAL },
                { BREAKER_TRIPPED, BREAKER_ARMED, -EINVAL },
        };
        struct breaker_trip trip = {
                .t_ms = 42, .instance = "t0", .rule = "r", .consecutive = 3, .limit = 3
        };
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fixture_start(&fx);
        for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
                assert_int_equal(breaker_restore(fx.b, changes[i].from, &trip), 0);
                assert_int_equal(breaker_set_phase(fx.b, changes[i].to), changes[i].expect);
                assert_int_equal(breaker_phase(fx.b),
                                 changes[i].expect == 0 ? changes[i].to : changes[i].from);
        }
        assert_int_equal(breaker_restore(fx.b, BREAKER_TRIPPED, NULL), -EINVAL);
        assert_int_equal(breaker_restore(fx.b, BREAKER_TRIPPED, &trip), 0);
        assert_int_equal(breaker_trip(fx.b)->t_ms, 42);
        assert_int_equal(run_tick(&fx, (const char *const[]){ "B" }, 0), 0);
        assert_int_equal(breaker_promote(fx.b), -EBUSY);
        breaker_reset(fx.b);
        assert_int_equal(breaker_promote(fx.b), 0);
        assert_int_equal(run_tick(&fx, (const char *const[]){ "BBBB" }, 0), 0);
        assert_int_equal(breaker_phase(fx.b), BREAKER_PROMOTED);
        assert_int_equal(breaker_step(fx.b, 0, NULL, 2), -EINVAL);
        breaker_free(fx.b);
}

/* A manual trip latches from any watched phase, exactly once, and only with valid words. */
static void test_trip_manual(void **state)
{
        static const struct {
                enum breaker_phase from;
                const char *text;
                int expect;
        } manual[] = {
                { BREAKER_ARMED, "heap dump shows a leak", 0 },
                { BREAKER_BREACHING, "x", 0 },
                { BREAKER_INCONCLUSIVE, "on-call: OOM storm", 0 },
                { BREAKER_TRIPPED, "again", -EALREADY },
                { BREAKER_ROLLED_BACK, "again", -EALREADY },
                { BREAKER_FAILED, "again", -EALREADY },
                { BREAKER_PROMOTED, "too late", -EBUSY },
                { BREAKER_ARMED, "", -EINVAL },
                { BREAKER_ARMED, "tab\there", -EINVAL },
                { BREAKER_ARMED, "caf\xc3\xa9", -EINVAL },
        };
        struct breaker_trip old = { .t_ms = 42, .instance = "t0", .rule = "r" };
        char longest[BREAKER_TEXT_MAX + 2];
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fixture_start(&fx);
        for (size_t i = 0; i < ELEMENTSOF(manual); i++) {
                assert_int_equal(breaker_restore(fx.b, manual[i].from, &old), 0);
                assert_int_equal(breaker_trip_manual(fx.b, 7000, manual[i].text), manual[i].expect);
                if (manual[i].expect == 0) {
                        assert_int_equal(breaker_phase(fx.b), BREAKER_TRIPPED);
                        assert_string_equal(breaker_trip(fx.b)->rule, BREAKER_MANUAL_RULE);
                        assert_string_equal(breaker_trip(fx.b)->instance, BREAKER_BATCH_INSTANCE);
                        assert_string_equal(breaker_trip(fx.b)->text, manual[i].text);
                        assert_int_equal(breaker_trip(fx.b)->t_ms, 7000);
                        assert_int_equal(breaker_trip(fx.b)->n_conditions, 0);
                        /* The latch holds: ticks evaluate nothing. */
                        assert_int_equal(run_tick(&fx, (const char *const[]){ "P" }, 0), 0);
                } else {
                        assert_int_equal(breaker_phase(fx.b), manual[i].from);
                        if (breaker_trip(fx.b))
                                assert_string_equal(breaker_trip(fx.b)->rule, "r");
                }
        }
        memset(longest, 'a', sizeof(longest) - 1);
        longest[sizeof(longest) - 1] = '\0';
        breaker_reset(fx.b);
        assert_int_equal(breaker_trip_manual(fx.b, 0, longest), -EINVAL);
        longest[BREAKER_TEXT_MAX] = '\0';
        assert_int_equal(breaker_trip_manual(fx.b, 0, longest), 0);
        breaker_free(fx.b);
}

static void test_phase_names(void **state)
{
        (void)state;
        for (int i = 0; i < _BREAKER_PHASE_MAX; i++) {
                enum breaker_phase p;

                assert_int_equal(breaker_phase_from_string(breaker_phase_to_string(i), &p), 0);
                assert_int_equal(p, i);
        }
        assert_string_equal(breaker_phase_to_string(BREAKER_ROLLED_BACK), "rolled_back");
        assert_null(breaker_phase_to_string(_BREAKER_PHASE_MAX));
        assert_int_equal(breaker_phase_from_string("tripped ", &(enum breaker_phase){ 0 }),
                         -EINVAL);
}

/*
 * time_to_limit_below (issue 16): a working set in MiB per 1 s tick against a 256 MiB limit,
 * threshold 30 s, three in a row. outcomes: one character per tick of (t0, rule r):
 * 'w' warming up (no-data that does not count toward max_errors), 'p' pass, 'b' breach.
 */
#define FC_MIB(v) ((uint64_t)(v)*1024 * 1024)
struct fc_case {
        const char *name;
        double start_mib, mib_per_s; /* the working set at tick k: start + rate * k */
        int restart_tick;            /* from this tick on it starts again at 50 MiB; -1: never */
        const char *outcomes;
        int trip_tick; /* -1 = never */
};

static const struct fc_case fc_cases[] = {
        /* 10 MiB/s from 100: the limit is seconds away, yet 10 ticks are only warming up
         * (fewer than 10 s of samples), never inconclusive although max_errors is 4. */
        { "warming up is no-data", 100, 10, -1, "wwwwwwwwwwbbb", 12 },
        /* 2 MiB/s from 150: the limit is 53 - k s away; below 30 s from tick 24 on. */
        { "a rising line below the threshold breaches", 150, 2, -1, "wwwwwwwwwwppppppppppppppbbb",
          26 },
        /* 250 of 256 MiB (a ratio rule at 0.9 would trip), but flat: never. */
        { "flat never breaches", 250, 0, -1, "wwwwwwwwwwpppppppppppppppppppp", -1 },
        { "falling never breaches", 250, -1, -1, "wwwwwwwwwwpppppppppppppppppppp", -1 },
        /* At 20 the working set falls from 188 to 50 MiB: the window starts again and warms
         * up for 10 ticks; the new line, 2 MiB/s from 50, is far from the limit. */
        { "a restart restarts the window", 150, 2, 20, "wwwwwwwwwwppppppppppwwwwwwwwwwppppp", -1 },
};

static void fc_sample(const struct fc_case *c, size_t k, struct sample *ret)
{
        double mib = c->restart_tick >= 0 && (int)k >= c->restart_tick
                             ? 50 + c->mib_per_s * (double)(k - (size_t)c->restart_tick)
                             : c->start_mib + c->mib_per_s * (double)k;
        struct sample s = { .t_ms = (int64_t)k * 1000 };

        s.memory.has_current = s.memory.has_inactive_file = s.memory.has_max = true;
        s.memory.max_bytes = FC_MIB(256);
        s.memory.current_bytes = (uint64_t)(mib * 1024 * 1024);
        *ret = s;
}

static void test_forecast_rule(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(fc_cases); i++) {
                const struct fc_case *c = &fc_cases[i];
                struct fixture fx;

                print_message("case: %s\n", c->name);
                fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, COND_TIME_TO_LIMIT, 30000);
                fx.p.interval_ms = 1000;
                fixture_start(&fx);
                for (size_t k = 0; c->outcomes[k]; k++) {
                        struct sample s;
                        const struct sample *sp = &s;
                        const struct rules_result *res;
                        const struct forecast_view *fv;

                        fc_sample(c, k, &s);
                        assert_true(breaker_step(fx.b, s.t_ms, &sp, 1) >= 0);
                        if (breaker_phase_latched(breaker_phase(fx.b)) && (int)k > c->trip_tick)
                                break;
                        res = breaker_last_result(fx.b, 0, 0);
                        fv = breaker_target_forecast(fx.b, 0);
                        assert_non_null(fv);
                        print_message("  tick %zu: %s, forecast %s\n", k,
                                      rules_outcome_to_string(res->outcome),
                                      forecast_state_to_string(fv->state));
                        switch (c->outcomes[k]) {
                        case 'w':
                                assert_int_equal(res->outcome, RULES_NO_DATA);
                                assert_true(res->warming_up);
                                assert_int_equal(fv->state, FORECAST_WARMING_UP);
                                assert_int_equal(breaker_no_data(fx.b, 0, 0), 0);
                                assert_int_not_equal(breaker_phase(fx.b), BREAKER_INCONCLUSIVE);
                                break;
                        case 'p':
                                assert_int_equal(res->outcome, RULES_PASS);
                                break;
                        default:
                                assert_int_equal(res->outcome, RULES_BREACH);
                                assert_int_equal(fv->state, FORECAST_RISING);
                                assert_true(fv->prediction.time_to_limit_ms > 0 &&
                                            fv->prediction.time_to_limit_ms < 30000);
                        }
                }
                if (c->trip_tick < 0) {
                        assert_null(breaker_trip(fx.b));
                } else {
                        assert_non_null(breaker_trip(fx.b));
                        assert_int_equal(breaker_trip(fx.b)->t_ms, c->trip_tick * 1000);
                        assert_int_equal(breaker_trip(fx.b)->conditions[0].metric,
                                         COND_TIME_TO_LIMIT);
                }
                /* A reset forgets the window: warming up again. */
                breaker_reset(fx.b);
                {
                        struct sample s;
                        const struct sample *sp = &s;

                        fc_sample(c, 0, &s);
                        s.t_ms = 100000;
                        breaker_step(fx.b, s.t_ms, &sp, 1);
                        assert_int_equal(breaker_target_forecast(fx.b, 0)->state,
                                         FORECAST_WARMING_UP);
                        assert_int_equal(breaker_target_forecast(fx.b, 0)->n, 1);
                }
                breaker_free(fx.b);
        }
}

/* Batch scope: the line is fitted to the summed working set against the summed limits; each
 * target keeps its own forecast for status. t0 climbs 10 MiB/s from 100 MiB, t1 stays at
 * 100 MiB; the sum reaches 512 MiB in 31.2 - k s, below 30 s from tick 2 on, but warming up
 * until tick 10: trips at 12. t1 alone is flat. */
static void test_forecast_batch_scope(void **state)
{
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_BATCH, 2, COND_TIME_TO_LIMIT, 30000);
        fx.p.interval_ms = 1000;
        fixture_start(&fx);
        for (size_t k = 0; k <= 12; k++) {
                struct sample s[2];
                const struct sample *sp[2] = { &s[0], &s[1] };

                for (size_t i = 0; i < 2; i++) {
                        s[i] = (struct sample){ .t_ms = (int64_t)k * 1000 };
                        s[i].memory.has_current = s[i].memory.has_inactive_file = true;
                        s[i].memory.has_max = true;
                        s[i].memory.max_bytes = FC_MIB(256);
                        s[i].memory.current_bytes = FC_MIB(100 + (i == 0 ? 10 * k : 0));
                }
                assert_true(breaker_step(fx.b, (int64_t)k * 1000, sp, 2) >= 0);
                assert_int_equal(breaker_phase(fx.b) == BREAKER_TRIPPED, k == 12);
        }
        assert_string_equal(breaker_trip(fx.b)->instance, BREAKER_BATCH_INSTANCE);
        assert_int_equal(breaker_target_forecast(fx.b, 0)->state, FORECAST_RISING);
        assert_int_equal(breaker_target_forecast(fx.b, 1)->state, FORECAST_NOT_RISING);
        breaker_free(fx.b);
}

/* Without a forecast rule no struct forecast exists (RSS at many targets). */
static void test_forecast_only_when_used(void **state)
{
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fixture_start(&fx);
        assert_null(breaker_target_forecast(fx.b, 0));
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
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_forecast_rule),
                cmocka_unit_test(test_forecast_only_when_used),
                cmocka_unit_test(test_forecast_batch_scope),
                cmocka_unit_test(test_transitions_and_reason),
                cmocka_unit_test(test_dry_run_transition),
                cmocka_unit_test(test_batch_gc_reset),
                cmocka_unit_test(test_reset_retakes_oom_baseline),
                cmocka_unit_test(test_outside_changes),
                cmocka_unit_test(test_trip_manual),
                cmocka_unit_test(test_phase_names),
                cmocka_unit_test(test_event_tick_rate_span),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
