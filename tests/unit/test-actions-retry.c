/* SPDX-License-Identifier: MIT */
/*
 * The action runner's retries with a fake clock and a real loopback peer: the back-off
 * waits, the attempt limit, a final 4xx, Retry-After, an attempt held back until it is
 * saved, resuming after a restart, and on_failure (continue, or a gate that stops the
 * chain).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actions-fixture.h"

/* A 503 is retried after the back-off, and not one millisecond before it. */
static void test_backoff_waits(void **ctx)
{
        const struct act acts[] = { { "/cut", { 503, 503, 200 }, 5 } };
        struct fixture fx;
        int64_t due;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 1000);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        assert_true(fx.last.retry_in_ms >= 500 && fx.last.retry_in_ms <= 1000);
        due = actions_next_due_ms(fx.a, 1000);
        assert_int_equal(due, 1000 + fx.last.retry_in_ms);
        assert_int_equal(run_at(&fx, due - 1), 0);
        assert_int_equal(hits(0), 1);
        run_at(&fx, due);
        assert_int_equal(hits(0), 2);
        assert_true(fx.last.retry_in_ms >= 1000 && fx.last.retry_in_ms <= 2000); /* doubled */
        run_at(&fx, actions_next_due_ms(fx.a, due));
        assert_int_equal(hits(0), 3);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        assert_int_equal(fx.s->actions[0].attempts, 3);
        fixture_done(&fx);
}

/* retries = 2: three attempts, then failed for good; a gate keeps the rollback back. */
static void test_attempt_limit(void **ctx)
{
        const struct act acts[] = { { "/cut", { 500 }, 2, .on_failure = ACTION_ON_FAILURE_STOP },
                                    { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, false);
        for (int64_t t = 0; t < 600000; t += 1000)
                run_at(&fx, t);
        assert_int_equal(hits(0), 3);
        assert_int_equal(hits(1), 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.last.attempt, 3);
        assert_int_equal(fx.last.max_attempts, 3);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        assert_non_null(strstr(fx.s->actions[0].result, "HTTP 500: busy"));
        fixture_done(&fx);
}

/* A 4xx other than 429 is final at once: no retry. */
static void test_client_error_final(void **ctx)
{
        const struct act acts[] = { { "/cut", { 404 }, 5 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(hits(0), 1);
        fixture_done(&fx);
}

/* 429 with Retry-After: the next attempt waits that long, past the back-off. */
static void test_retry_after(void **ctx)
{
        const struct act acts[] = { { "/cut", { 429, 200 }, 5, "120" } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        assert_int_equal(fx.last.retry_in_ms, 120000);
        run_at(&fx, 119999);
        assert_int_equal(hits(0), 1);
        run_at(&fx, 120000);
        assert_int_equal(hits(0), 2);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        fixture_done(&fx);
}

/* A failed save holds the attempt back: nothing is sent until it is recorded. */
static void test_unsaved_attempt_not_sent(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        fx.save_fails = true;
        run_at(&fx, 0);
        run_at(&fx, 999);
        assert_int_equal(fx.recorded[ACTIONS_EVENT_ATTEMPT], 1);
        assert_int_equal(hits(0), 0);
        assert_int_equal(fx.s->actions[0].attempts, 0);
        fx.save_fails = false;
        run_at(&fx, 1000);
        assert_int_equal(hits(0), 1);
        assert_int_equal(fx.s->actions[0].attempts, 1);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        fixture_done(&fx);
}

/* After a restart with the cut in progress: resent under the same key, counted as attempt 2. */
static void test_resume_after_restart(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, 1 }, { "/rollback", { 200 } } };
        struct fixture fx;
        char key[STATE_KEY_MAX + 1];

        (void)ctx;
        fixture_init(&fx, acts, 2, true);
        run_at(&fx, 0);
        snprintf(key, sizeof(key), "v1.0.1-a:r1:0:cut");
        assert_string_equal(peer.routes[0].key, key);
        assert_int_equal(fx.s->actions[0].attempts, 2);
        assert_int_equal(hits(0), 1);
        assert_int_equal(hits(1), 1);
        assert_int_equal(fx.s->phase, BREAKER_ROLLED_BACK);
        fixture_done(&fx);
}

/* A restart found the cut in progress at its last attempt (retries = 0): no more tries. The
 * cut is a gate here, so the failure is the last event and the rollback is not sent. */
static void test_resume_past_limit(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, .on_failure = ACTION_ON_FAILURE_STOP },
                                    { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, true);
        assert_int_equal(run_at(&fx, 0), 1);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.last.attempt, 1);
        assert_int_equal(fx.last.max_attempts, 1);
        assert_non_null(strstr(fx.last.result, "attempt limit"));
        assert_int_equal(hits(0) + hits(1), 0);
        assert_int_equal(fx.s->actions[0].attempts, 1);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        fixture_done(&fx);
}

/* A restart after the cut was done: only the rollback goes. */
static void test_resume_skips_done(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } }, { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, false);
        fx.s->actions[0].status = STATE_ACTION_DONE;
        fx.s->actions[0].attempts = 1;
        run_at(&fx, 0);
        assert_int_equal(hits(0), 0);
        assert_int_equal(hits(1), 1);
        fixture_done(&fx);
}

struct on_failure_case {
        const char *name;
        enum action_on_failure cut; /* the cut's on_failure; the cut always fails */
        unsigned rollback;          /* the rollback's answer */
        unsigned rollback_hits;
        enum state_action_status rollback_status;
        enum breaker_phase phase;
};

static const struct on_failure_case on_failure_cases[] = {
        { "continue: the rollback still goes", ACTION_ON_FAILURE_CONTINUE, 200, 1,
          STATE_ACTION_DONE, BREAKER_FAILED },
        { "continue, the rollback fails too", ACTION_ON_FAILURE_CONTINUE, 404, 1,
          STATE_ACTION_FAILED, BREAKER_FAILED },
        { "stop: a gate keeps the rest back", ACTION_ON_FAILURE_STOP, 200, 0, STATE_ACTION_PENDING,
          BREAKER_FAILED },
};

/* A cut that fails for good: the chain goes on unless the cut is a gate (on_failure = stop). */
static void test_on_failure(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(on_failure_cases); c++) {
                const struct on_failure_case *tc = &on_failure_cases[c];
                const struct act acts[] = { { "/cut", { 503 }, 1, .on_failure = tc->cut },
                                            { "/rollback", { tc->rollback } } };
                struct fixture fx;

                print_message("case: %s\n", tc->name);
                fixture_init(&fx, acts, 2, false);
                for (int64_t t = 0; t < 120000 && fx.s->phase == BREAKER_TRIPPED; t += 500)
                        run_at(&fx, t);
                assert_int_equal(hits(0), 2);
                assert_int_equal(fx.s->actions[0].status, STATE_ACTION_FAILED);
                assert_int_equal(hits(1), tc->rollback_hits);
                assert_int_equal(fx.s->actions[1].status, tc->rollback_status);
                assert_int_equal(fx.s->phase, tc->phase);
                assert_int_equal(run_at(&fx, 600000), 0); /* and nothing more, ever */
                assert_int_equal(hits(0) + hits(1), 2 + tc->rollback_hits);
                fixture_done(&fx);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff_waits),
                cmocka_unit_test(test_attempt_limit),
                cmocka_unit_test(test_client_error_final),
                cmocka_unit_test(test_retry_after),
                cmocka_unit_test(test_unsaved_attempt_not_sent),
                cmocka_unit_test(test_resume_after_restart),
                cmocka_unit_test(test_resume_past_limit),
                cmocka_unit_test(test_resume_skips_done),
                cmocka_unit_test(test_on_failure),
        };

        return cmocka_run_group_tests_name("actions-retry", tests, setup, teardown);
}
