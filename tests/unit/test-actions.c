/* SPDX-License-Identifier: MIT */
/*
 * The action runner with a fake clock and a real loopback peer: the back-off table, the
 * envelope, the order and keys of a chain, actions that fail without a request (gone from
 * the policy, an unreadable token), HAProxy unreachable, the state left to its writer, and
 * the token read at send time. Retries, limits, restarts and on_failure:
 * test-actions-retry.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "actions-fixture.h"

struct backoff_case {
        unsigned failed;
        int64_t ms;
};

static void test_backoff(void **ctx)
{
        static const struct backoff_case cases[] = {
                { 1, 1000 },  { 2, 2000 },  { 3, 4000 },  { 4, 8000 },
                { 5, 16000 }, { 6, 30000 }, { 7, 30000 }, { 40, 30000 },
        };

        (void)ctx;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case %zu: %u failed attempts\n", i, cases[i].failed);
                assert_int_equal(actions_backoff_ms(cases[i].failed), cases[i].ms);
        }
}

/* The envelope is what the release before rendered for the same state, byte for byte. */
static void test_envelope_golden(void **ctx)
{
        struct policy p = { .name = "v1.0.1-a",
                            .image = "reg/o:v2",
                            .stable_image = "reg/o:v1",
                            .traffic_percent = 5 };
        _cleanup_free_ char *text = NULL, *path = NULL, *want = NULL;
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");
        struct state *s;

        (void)ctx;
        assert_true(asprintf(&path, "%s/tests/fixtures/state", src ? src : ".") > 0);
        assert_int_equal(state_load(path, "v1.0.1-a", &s, NULL), 0);
        assert_int_equal(actions_envelope(&p, s, "rollback", "node-7", &text), 0);
        free(path);
        assert_true(asprintf(&path, "%s/tests/fixtures/state/v1.0.1-a.envelope.json",
                             src ? src : ".") > 0);
        want = read_file(path);
        want[strcspn(want, "\n")] = '\0';
        assert_string_equal(text, want);
        state_free(s);
}

/* A manual trip's words reach the payload; the trip's record keeps them through the file. */
static void test_envelope_manual(void **ctx)
{
        struct policy p = { .name = "v1.0.1-a" };
        struct breaker_trip t = { .t_ms = 5, .instance = "*", .rule = "manual" };
        _cleanup_free_ char *text = NULL;
        struct state *s, *back;
        char dir[] = "/tmp/test-actions.XXXXXX";
        json_t *j;

        (void)ctx;
        snprintf(t.text, sizeof(t.text), "on-call: \"leak\" in v2");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_new("v1.0.1-a", &s), 0);
        assert_int_equal(state_begin_trip(s, &t, 1795400225, NULL, 0, "r1"), 0);
        assert_int_equal(state_save(dir, s), 0);
        assert_int_equal(state_load(dir, "v1.0.1-a", &back, NULL), 0);
        assert_string_equal(back->trip.text, t.text);
        assert_int_equal(actions_envelope(&p, back, "rollback", "node-7", &text), 0);
        j = json_loads(text, 0, NULL);
        assert_non_null(j);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "reason"), "text")), t.text);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "reason"), "rule")), "manual");
        json_decref(j);
        state_free(back);
        state_free(s);
        free(text);
        assert_true(asprintf(&text, "%s/v1.0.1-a.json", dir) > 0);
        assert_int_equal(unlink(text), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* Cut before rollback before notify; each exactly once, under its trip's key. */
static void test_order_and_keys(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } },
                                    { "/rollback", { 200 } },
                                    { "/notify", { 204 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 3, false);
        run_at(&fx, 1000);
        assert_string_equal(peer.order, "crn");
        for (size_t i = 0; i < 3; i++) {
                char key[STATE_KEY_MAX + 1];

                snprintf(key, sizeof(key), "v1.0.1-a:r1:0:%s", fx.pa[i].name);
                assert_int_equal(hits(i), 1);
                assert_string_equal(peer.routes[i].key, key);
                assert_int_equal(fx.s->actions[i].status, STATE_ACTION_DONE);
        }
        assert_int_equal(fx.recorded[ACTIONS_EVENT_ATTEMPT], 3);
        assert_int_equal(fx.recorded[ACTIONS_EVENT_DONE], 3);
        assert_int_equal(fx.s->phase, BREAKER_ROLLED_BACK);
        assert_string_equal(fx.s->actions[2].result, "HTTP 204");
        assert_int_equal(run_at(&fx, 99000), 0); /* nothing is ever sent again */
        fixture_done(&fx);
}

/* An action the policy no longer has fails without a request. */
static void test_action_gone(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        snprintf(fx.pa[0].name, sizeof(fx.pa[0].name), "drain");
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_string_equal(fx.last.result, "the action is no longer in the policy");
        assert_int_equal(hits(0), 0);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        fixture_done(&fx);
}

/* HAProxy unreachable: a transport error, retried with back-off, then failed. */
static void test_haproxy_unreachable(void **ctx)
{
        const struct act acts[] = { { NULL, { 0 }, 1 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        run_at(&fx, actions_next_due_ms(fx.a, 0));
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.s->actions[0].attempts, 2);
        assert_non_null(strstr(fx.s->actions[0].result, "haproxy.sock"));
        fixture_done(&fx);
}

/* The runner reads the state only: it never writes it, whatever happens. */
static void test_state_untouched_without_writer(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;
        struct actions_outcome o;
        struct state_action before;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        before = fx.s->actions[0];
        assert_int_equal(actions_next(fx.a, 0, &o), 1);
        assert_int_equal(o.kind, ACTIONS_EVENT_ATTEMPT);
        assert_int_equal(o.attempt, 1);
        assert_int_equal(actions_next(fx.a, 0, &o), 0); /* waits for send or defer */
        assert_memory_equal(&before, &fx.s->actions[0], sizeof(before));
        assert_int_equal(hits(0), 0);
        fixture_done(&fx); /* frees with the attempt announced and unsent */
}

/* A webhook that cannot be built (unreadable token) fails for good without a request. */
static void test_bad_token_fails(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, 5 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = (char *)"/nonexistent/token";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_non_null(strstr(fx.last.result, "token_file"));
        assert_int_equal(hits(0), 0);
        fixture_done(&fx);
}

/*
 * A token_file that cannot be read at send time: the token loaded with the policy goes out,
 * and actions_send() hands back a warning for the writer to log. One that reads sends its
 * own, current value.
 */
static void test_token_fallback(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        char dir[] = "/tmp/test-actions-XXXXXX", path[64];
        struct fixture fx;
        FILE *f;

        (void)ctx;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/token", dir);
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = path;
        fx.pa[0].token = (char *)"loaded";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_DONE);
        assert_string_equal(peer.routes[0].auth, "Bearer loaded");
        assert_non_null(strstr(fx.warning, "does not exist"));
        assert_non_null(strstr(fx.warning, "sending the token read when the policy loaded"));
        fixture_done(&fx);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs("rotated\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, 0600), 0);
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = path;
        fx.pa[0].token = (char *)"loaded";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_DONE);
        assert_string_equal(peer.routes[0].auth, "Bearer rotated");
        assert_string_equal(fx.warning, "");
        fixture_done(&fx);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_envelope_golden),
                cmocka_unit_test(test_envelope_manual),
                cmocka_unit_test(test_order_and_keys),
                cmocka_unit_test(test_action_gone),
                cmocka_unit_test(test_haproxy_unreachable),
                cmocka_unit_test(test_state_untouched_without_writer),
                cmocka_unit_test(test_bad_token_fails),
                cmocka_unit_test(test_token_fallback),
        };

        return cmocka_run_group_tests_name("actions", tests, setup, teardown);
}
