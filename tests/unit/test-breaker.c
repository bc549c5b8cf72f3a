/* SPDX-License-Identifier: MIT */
/* The breaker as a table of scripted ticks: streaks, trips, no-data, inconclusive, scopes. */
#include "breaker-fixture.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
