/* SPDX-License-Identifier: MIT */
/*
 * One batch, driven directly: a fake cgroupfs tree the test rewrites, a state directory, the
 * times handed in as values. It checks that a trip is persisted before any action starts
 * (also when saving fails for a while), that a restart restores the latched trip with its
 * id, that reset re-arms and saves, and that a latched batch keeps its policy.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "policy-load.h"
#include "state.h"
#include "util.h"

#include "fixture-tree.h"

#define GiB   (UINT64_C(1) << 30)
#define T0_MS INT64_C(5000000)

/* The action goes to a loopback peer that accepts connections and never answers, so an
 * attempt that started stays in flight (http_pending() counts it) for its 5 s timeout. */
static const char policy_fmt[] = "[batch]\n"
                                 "name = b1\n"
                                 "interval = 1s\n"
                                 "consecutive = 2\n"
                                 "\n"
                                 "[target canary-1]\n"
                                 "cgroup = /canary\n"
                                 "\n"
                                 "[rule high]\n"
                                 "memory_ratio_above = 0.9\n"
                                 "\n"
                                 "[action rollback]\n"
                                 "type = http\n"
                                 "url = http://127.0.0.1:%u/rollback\n"
                                 "method = POST\n"
                                 "timeout = 5s\n"
                                 "retries = 3\n";

/* The batch's clock (batch_env.now_ms takes no context, hence a file-scope variable). */
static int64_t fake_now;

static int64_t fake_now_ms(void)
{
        return fake_now;
}

struct fixture {
        char dir[64];
        char policy_text[sizeof(policy_fmt) + 16];
        int peer_fd;
        char cgroup_root[PATH_MAX];
        char state_dir[PATH_MAX];
        struct http *http;
        struct cgroup_hierarchy *hierarchy;
        struct batch_env env;
        struct batch *b;
};

/* HTTP requests in flight. */
static size_t in_flight(struct fixture *f)
{
        return http_pending(f->http);
}

static struct policy *load_policy(const char *text)
{
        struct policy_diags d = { 0 };
        struct policy *p = NULL;

        assert_int_equal(policy_parse_string(text, "b1.ini", POLICY_LOAD_NO_MODE_CHECKS, &p, &d),
                         0);
        policy_diags_clear(&d);
        return p;
}

static struct batch *new_batch(struct fixture *f, int64_t now_ms)
{
        struct batch *b = NULL;
        struct stat st = { 0 };

        assert_int_equal(batch_new(load_policy(f->policy_text), &st, &f->env, now_ms, &b), 0);
        return b;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char err[CGROUP_ERROR_MAX];
        unsigned port;

        assert_non_null(f);
        f->peer_fd = listen_loopback(&port);
        snprintf(f->policy_text, sizeof(f->policy_text), policy_fmt, port);
        assert_non_null(tmpdir_make(f->dir, sizeof(f->dir), "test-batch"));
        fake_tree_make(f->dir, f->cgroup_root, f->state_dir);
        assert_int_equal(http_new(&f->http), 0);
        assert_int_equal(cgroup_hierarchy_open(f->cgroup_root, err, &f->hierarchy), 0);
        f->env = (struct batch_env){ .http = f->http,
                                     .hierarchy = f->hierarchy,
                                     .state_dir = f->state_dir,
                                     .host = "test-host",
                                     .start_ms = T0_MS,
                                     .now_ms = fake_now_ms };
        fake_now = T0_MS;
        f->b = new_batch(f, T0_MS);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        batch_free(f->b);
        cgroup_hierarchy_free(f->hierarchy);
        http_free(f->http);
        close(f->peer_fd);
        rm_tree(f->dir);
        free(f);
        return 0;
}

/* Ticks once a second from from_s to to_s (seconds after T0), both included. */
static void tick_seconds(struct fixture *f, int from_s, int to_s)
{
        for (int s = from_s; s <= to_s; s++) {
                fake_now = T0_MS + s * 1000;
                batch_tick(f->b, fake_now);
        }
}

static struct state *saved_state(struct fixture *f)
{
        struct state_load_error err;
        struct state *s = NULL;
        int r = state_load(f->state_dir, "b1", &s, &err);

        return r == 0 ? s : NULL;
}

static void trip(struct fixture *f, int from_s)
{
        fake_tree_set_working_set(f->cgroup_root, GiB * 19 / 10); /* 0.95 of the limit */
        tick_seconds(f, from_s, from_s + 1);
        assert_int_equal(batch_phase(f->b), BREAKER_TRIPPED);
}

static void test_trip_is_saved_before_actions(void **state)
{
        struct fixture *f = *state;
        struct state *s;

        tick_seconds(f, 0, 2);
        assert_int_equal(batch_phase(f->b), BREAKER_ARMED);
        assert_int_equal(in_flight(f), 0);
        trip(f, 3);
        /* The request is out, and the file already says so: the trip and attempt 1. */
        assert_int_equal(in_flight(f), 1);
        s = saved_state(f);
        assert_non_null(s);
        assert_int_equal(s->phase, BREAKER_TRIPPED);
        assert_true(s->has_trip);
        assert_string_equal(s->trip.rule, "high");
        assert_int_equal(s->n_actions, 1);
        assert_int_equal(s->actions[0].attempts, 1);
        assert_true(s->actions[0].resumed); /* in progress when it was saved */
        state_free(s);
}

static void test_failed_save_holds_actions_until_it_succeeds(void **state)
{
        struct fixture *f = *state;
        char aside[PATH_MAX + 8];
        struct state *s;

        tick_seconds(f, 0, 1);
        /* The state directory becomes a regular file: every save fails (ENOTDIR). */
        snprintf(aside, sizeof(aside), "%s.away", f->state_dir);
        assert_int_equal(rename(f->state_dir, aside), 0);
        write_file(f->dir, "state", "not a directory\n");
        trip(f, 2);
        for (int t = 4; t <= 8; t++) {
                tick_seconds(f, t, t);
                fake_now = T0_MS + t * 1000 + 500;
                batch_run_actions(f->b, fake_now);
                assert_int_equal(in_flight(f), 0); /* nothing may be sent */
        }
        /* The disk is back: the next tick records the trip, then the actions may start. */
        assert_int_equal(unlink(f->state_dir), 0);
        assert_int_equal(rename(aside, f->state_dir), 0);
        tick_seconds(f, 9, 9);
        fake_now = T0_MS + 9500;
        batch_run_actions(f->b, fake_now);
        assert_int_equal(in_flight(f), 1);
        s = saved_state(f);
        assert_non_null(s);
        assert_int_equal(s->phase, BREAKER_TRIPPED);
        assert_int_equal(s->actions[0].attempts, 1);
        state_free(s);
}

static void test_restart_restores_the_trip(void **state)
{
        struct fixture *f = *state;
        char id[sizeof(((struct breaker_trip *)0)->id)];
        struct state *s;

        tick_seconds(f, 0, 1);
        trip(f, 2);
        s = saved_state(f);
        assert_non_null(s);
        snprintf(id, sizeof(id), "%s", s->trip.id);
        state_free(s);
        /* A new agent over the same state directory: the trip is still latched, same id. */
        batch_free(f->b);
        fake_tree_set_working_set(f->cgroup_root, GiB);
        fake_now = T0_MS + 60000;
        f->b = new_batch(f, fake_now);
        assert_int_equal(batch_phase(f->b), BREAKER_TRIPPED);
        fake_now = T0_MS + 61000;
        batch_tick(f->b, fake_now);
        assert_int_equal(batch_phase(f->b), BREAKER_TRIPPED);
        s = saved_state(f);
        assert_non_null(s);
        assert_string_equal(s->trip.id, id);
        state_free(s);
}

static void test_reset_rearms_and_saves(void **state)
{
        struct fixture *f = *state;
        struct state *s;
        uint64_t base;

        tick_seconds(f, 0, 1);
        trip(f, 2);
        fake_tree_set_working_set(f->cgroup_root, GiB);
        fake_now = T0_MS + 10000;
        assert_int_equal(batch_reset(f->b, fake_now, NULL), 0);
        assert_int_equal(batch_phase(f->b), BREAKER_ARMED);
        s = saved_state(f);
        assert_non_null(s);
        assert_int_equal(s->phase, BREAKER_ARMED);
        assert_false(s->has_trip);
        assert_int_equal(state_baseline_get(s, "canary-1", &base), -ENOENT);
        /* The next trip must not reuse the first one's keys. */
        assert_true(s->release.set);
        assert_int_equal(s->release.generation, 1);
        state_free(s);
        /* The breaker starts over: one breach is not enough to trip again. */
        fake_tree_set_working_set(f->cgroup_root, GiB * 19 / 10);
        fake_now = T0_MS + 11000;
        batch_tick(f->b, fake_now);
        assert_int_equal(batch_phase(f->b), BREAKER_BREACHING);
        /* The reset forgot the OOM baselines; the tick after it saved the new one (the same
         * count as before the reset, which must not pass for already saved). */
        s = saved_state(f);
        assert_non_null(s);
        assert_int_equal(state_baseline_get(s, "canary-1", &base), 0);
        assert_int_equal(base, 0);
        state_free(s);
}

static void test_latched_batch_keeps_its_policy(void **state)
{
        struct fixture *f = *state;
        const struct policy *before;
        struct stat st = { .st_ino = 42 };

        tick_seconds(f, 0, 1);
        trip(f, 2);
        before = batch_policy(f->b);
        batch_update_policy(f->b, load_policy(f->policy_text), &st, T0_MS + 5000);
        assert_ptr_equal(batch_policy(f->b), before);
        assert_int_equal(batch_promote(f->b), -EBUSY);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trip_is_saved_before_actions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_save_holds_actions_until_it_succeeds,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_restores_the_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset_rearms_and_saves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_latched_batch_keeps_its_policy, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
