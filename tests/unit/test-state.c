/* SPDX-License-Identifier: MIT */
/*
 * The state model: a trip's actions through their statuses and phases (kept across a save
 * and a load), trip ids and idempotency keys, the trip latch, which action resumes after a
 * restart, a crash walk that sends each action once, and the status names.
 * The file on disk: test-state-file.c; its JSON: test-state-json.c.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "state-fixture.h"
#include "util.h"

struct round_trip_case {
        const char *name;
        enum state_action_status status[3]; /* of drain, rollback, notify */
        enum breaker_phase phase;
};

static const struct round_trip_case round_trip_cases[] = {
        { "fresh trip",
          { STATE_ACTION_PENDING, STATE_ACTION_PENDING, STATE_ACTION_PENDING },
          BREAKER_TRIPPED },
        { "drained",
          { STATE_ACTION_DONE, STATE_ACTION_PENDING, STATE_ACTION_PENDING },
          BREAKER_TRIPPED },
        { "all done",
          { STATE_ACTION_DONE, STATE_ACTION_DONE, STATE_ACTION_DONE },
          BREAKER_ROLLED_BACK },
        { "rollback failed, notify still to go",
          { STATE_ACTION_DONE, STATE_ACTION_FAILED, STATE_ACTION_PENDING },
          BREAKER_TRIPPED },
        { "drain failed, the rest done",
          { STATE_ACTION_FAILED, STATE_ACTION_DONE, STATE_ACTION_DONE },
          BREAKER_FAILED },
};

static void test_round_trip(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(round_trip_cases); c++) {
                const struct round_trip_case *tc = &round_trip_cases[c];
                struct state *s = make_tripped(), *back;
                uint64_t kills;

                for (size_t i = 0; i < 3; i++) {
                        state_action_begin_attempt(&s->actions[i]);
                        assert_int_equal(state_action_finish(s, &s->actions[i], tc->status[i],
                                                             "HTTP 503 \"busy\"\n\x01"),
                                         0);
                }
                assert_int_equal(s->phase, tc->phase);
                back = save_and_load(s);
                assert_string_equal(back->batch, BATCH);
                assert_int_equal(back->phase, tc->phase);
                assert_true(back->has_trip);
                assert_string_equal(back->trip.id, s->trip.id);
                assert_string_equal(back->trip.time, "2026-11-23T02:17:05Z");
                assert_int_equal(back->trip.t_ms, 210000);
                assert_string_equal(back->trip.instance, "canary-1");
                assert_string_equal(back->trip.rule, "heap-pressure");
                assert_int_equal(back->trip.consecutive, 3);
                assert_int_equal(back->trip.limit, 3);
                assert_int_equal(back->trip.n_conditions, 2);
                assert_int_equal(back->trip.conditions[1].metric, COND_GC_PER_MINUTE);
                assert_true(fabs(back->trip.conditions[0].value - 0.95) < 1e-12);
                assert_true(fabs(back->trip.conditions[0].threshold - 0.92) < 1e-12);
                assert_int_equal(state_baseline_get(back, "canary-1", &kills), 0);
                assert_int_equal(kills, 2);
                assert_int_equal(state_baseline_get(back, "canary-3", &kills), -ENOENT);
                assert_int_equal(back->n_actions, 3);
                for (size_t i = 0; i < 3; i++) {
                        assert_string_equal(back->actions[i].name, action_names[i]);
                        assert_int_equal(back->actions[i].status, tc->status[i]);
                        assert_int_equal(back->actions[i].attempts, 1);
                        assert_string_equal(back->actions[i].key, s->actions[i].key);
                        /* Control bytes from a peer are replaced, never stored raw. */
                        assert_string_equal(back->actions[i].result, "HTTP 503 \"busy\"??");
                }
                state_free(back);
                state_free(s);
        }
}

static void test_armed_round_trip(void **ctx)
{
        struct state *s, *back;

        (void)ctx;
        assert_int_equal(state_new(BATCH, &s), 0);
        s->phase = BREAKER_INCONCLUSIVE;
        back = save_and_load(s);
        assert_int_equal(back->phase, BREAKER_INCONCLUSIVE);
        assert_false(back->has_trip);
        assert_int_equal(back->n_actions, 0);
        assert_null(state_next_pending(back));
        state_free(back);
        state_free(s);
}

static void test_trip_id_and_keys(void **ctx)
{
        char ids[64][BREAKER_TRIP_ID_MAX + 1];
        struct state *s = make_tripped();

        (void)ctx;
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                assert_int_equal(state_trip_id_new("v1.0_1-a", 1795400225, ids[i]), 0);
                assert_int_equal(strspn(ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                                                "vwxyz0123456789-"),
                                 strlen(ids[i]));
                assert_int_equal(strncmp(ids[i], "v1-0-1-a-20261123T021705Z-", 26), 0);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(ids[i], ids[j]);
        }
        for (size_t i = 0; i < s->n_actions; i++) {
                char want[STATE_KEY_MAX + 1];

                snprintf(want, sizeof(want), BATCH ":r1:0:%s", action_names[i]);
                assert_string_equal(s->actions[i].key, want);
        }
        /* The trip latches: a second trip is refused and changes nothing. */
        strcpy(ids[0], s->trip.id);
        assert_int_equal(state_begin_trip(s, &reason, 1, policy_actions, 1, "r1"), -EBUSY);
        assert_string_equal(s->trip.id, ids[0]);
        assert_int_equal(s->n_actions, 3);
        state_clear_trip(s);
        assert_int_equal(s->phase, BREAKER_ARMED);
        assert_false(s->has_trip);
        assert_null(state_next_pending(s));
        state_free(s);
}

struct resume_case {
        const char *name;
        enum state_action_status status[3];
        int next;  /* index of the action state_next_pending() returns, -1 for none */
        bool gate; /* the second action has on_failure = stop */
};

static const struct resume_case resume_cases[] = {
        { "in progress resumes", { STATE_ACTION_DONE, STATE_ACTION_IN_PROGRESS, 0 }, 1 },
        { "first in progress", { STATE_ACTION_IN_PROGRESS, 0, 0 }, 0 },
        { "done skipped", { STATE_ACTION_DONE, STATE_ACTION_DONE, STATE_ACTION_PENDING }, 2 },
        { "all done", { STATE_ACTION_DONE, STATE_ACTION_DONE, STATE_ACTION_DONE }, -1 },
        { "failed goes on", { STATE_ACTION_DONE, STATE_ACTION_FAILED, STATE_ACTION_PENDING }, 2 },
        { "failed gate blocks",
          { STATE_ACTION_DONE, STATE_ACTION_FAILED, STATE_ACTION_PENDING },
          -1,
          true },
        { "gate that did not fail", { STATE_ACTION_DONE, STATE_ACTION_DONE, 0 }, 2, true },
        { "all finished, one failed",
          { STATE_ACTION_FAILED, STATE_ACTION_DONE, STATE_ACTION_DONE },
          -1 },
        { "fresh", { 0, 0, 0 }, 0 },
};

static void test_resume(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(resume_cases); c++) {
                const struct resume_case *tc = &resume_cases[c];
                struct state *s = make_tripped(), *back;
                struct state_action *a;

                for (size_t i = 0; i < 3; i++) {
                        s->actions[i].status = tc->status[i];
                        s->actions[i].attempts = tc->status[i] ? 2 : 0;
                }
                s->actions[1].stop_on_failure = tc->gate;
                back = save_and_load(s); /* on_failure survives the file */
                assert_int_equal(back->actions[1].stop_on_failure, tc->gate);
                a = state_next_pending(back);
                if (tc->next < 0) {
                        assert_null(a);
                } else {
                        assert_ptr_equal(a, &back->actions[tc->next]);
                        assert_int_equal(a->status, STATE_ACTION_PENDING);
                        assert_string_equal(a->key, s->actions[tc->next].key);
                        assert_int_equal(a->resumed,
                                         tc->status[tc->next] == STATE_ACTION_IN_PROGRESS);
                        assert_int_equal(a->attempts, s->actions[tc->next].attempts);
                }
                state_free(back);
                state_free(s);
        }
}

/* Walks a trip the way the loop does, reloading after every save: each action once. */
static void test_crash_walk(void **ctx)
{
        struct state *s = make_tripped();
        struct state_action *a;
        int sent[3] = { 0 };

        (void)ctx;
        assert_int_equal(state_save(dir, s), 0);
        while ((a = state_next_pending(s))) {
                size_t i = (size_t)(a - s->actions);
                char key[STATE_KEY_MAX + 1];

                strcpy(key, a->key);
                state_action_begin_attempt(a);
                assert_int_equal(state_save(dir, s), 0);
                state_free(s);
                s = NULL;
                /* "Crash" after the save: the reload must offer the same action, same key. */
                assert_int_equal(state_load(dir, BATCH, &s, NULL), 0);
                a = state_next_pending(s);
                assert_ptr_equal(a, &s->actions[i]);
                assert_true(a->resumed);
                assert_string_equal(a->key, key);
                sent[i]++;
                assert_int_equal(state_action_finish(s, a, STATE_ACTION_DONE, "HTTP 200"), 0);
                assert_int_equal(state_save(dir, s), 0);
        }
        assert_int_equal(s->phase, BREAKER_ROLLED_BACK);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(sent[i], 1);
        assert_int_equal(state_action_finish(s, &s->actions[0], STATE_ACTION_IN_PROGRESS, ""),
                         -EINVAL);
        state_free(s);
}

static void test_names(void **ctx)
{
        (void)ctx;
        assert_string_equal(state_action_status_to_string(STATE_ACTION_IN_PROGRESS), "in_progress");
        assert_int_equal(state_action_status_from_string("in_progress"), STATE_ACTION_IN_PROGRESS);
        assert_int_equal(state_action_status_from_string("sent"), -EINVAL);
        assert_null(state_action_status_to_string(_STATE_ACTION_STATUS_MAX));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_armed_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trip_id_and_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_walk, setup, teardown),
                cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
