/* SPDX-License-Identifier: MIT */
/*
 * The breaker's transitions and its latch: trip reasons, dry runs, resets, outside changes
 * (rollback, promote), manual trips and phase names.
 */
#include "breaker-fixture.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_transitions_and_reason),
                cmocka_unit_test(test_dry_run_transition),
                cmocka_unit_test(test_reset_retakes_oom_baseline),
                cmocka_unit_test(test_outside_changes),
                cmocka_unit_test(test_trip_manual),
                cmocka_unit_test(test_phase_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
