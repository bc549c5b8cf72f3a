/* SPDX-License-Identifier: MIT */
/*
 * The Idempotency-Key every node derives alike (core/release.c) and the state file's release
 * record that feeds it: the same inputs give the same key; the release, the generation and
 * the action each change it; nothing of the host or the time is in it; a reset moves it on.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy-load.h"
#include "release.h"
#include "state.h"

struct key_case {
        const char *batch, *release;
        unsigned generation;
        const char *action;
        int ret;
        const char *want;
};

static const struct key_case key_cases[] = {
        { "v1.0.1-a", "r1", 0, "rollback", 0, "v1.0.1-a:r1:0:rollback" },
        { "v1.0.1-a", "r2", 0, "rollback", 0, "v1.0.1-a:r2:0:rollback" },
        { "v1.0.1-a", "r1", 1, "rollback", 0, "v1.0.1-a:r1:1:rollback" },
        { "v1.0.1-a", "r1", 0, "drain", 0, "v1.0.1-a:r1:0:drain" },
        { "v1.0.1-b", "r1", 0, "rollback", 0, "v1.0.1-b:r1:0:rollback" },
        { "a-b", "c", 0, "x", 0, "a-b:c:0:x" }, /* ':' keeps a-b/c apart from a/b-c */
        { "a", "b-c", 0, "x", 0, "a:b-c:0:x" },
        { "v1", "0123456789abcdef", UINT_MAX, "rollback", 0,
          "v1:0123456789abcdef:4294967295:rollback" },
        { "v1", "r:1", 0, "rollback", -EINVAL, NULL },
        { "v1", "", 0, "rollback", -EINVAL, NULL },
        { "", "r1", 0, "rollback", -EINVAL, NULL },
        { "v1", "r1", 0, "roll back", -EINVAL, NULL },
};

static void test_key_cases(void **ctx)
{
        (void)ctx;
        for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
                const struct key_case *c = &key_cases[i];
                char key[RELEASE_KEY_MAX + 1] = "", again[RELEASE_KEY_MAX + 1] = "";

                assert_int_equal(release_key(c->batch, c->release, c->generation, c->action, key),
                                 c->ret);
                if (c->ret < 0)
                        continue;
                assert_string_equal(key, c->want);
                /* The same inputs, the same key: nothing else goes in. */
                assert_int_equal(release_key(c->batch, c->release, c->generation, c->action, again),
                                 0);
                assert_string_equal(key, again);
                for (size_t j = 0; j < i; j++)
                        if (key_cases[j].ret == 0)
                                assert_string_not_equal(key, key_cases[j].want);
        }
}

/* The longest inputs fit, and the key holds no host name or time. */
static void test_key_bounds_and_content(void **ctx)
{
        char name[POLICY_NAME_MAX + 1], key[RELEASE_KEY_MAX + 1], host[256] = "";

        (void)ctx;
        memset(name, 'n', POLICY_NAME_MAX);
        name[POLICY_NAME_MAX] = '\0';
        assert_int_equal(release_key(name, name, UINT_MAX, name, key), 0);
        assert_int_equal(strlen(key), RELEASE_KEY_MAX);
        assert_int_equal(release_key("v1.0.1-a", "r1", 0, "rollback", key), 0);
        assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
        assert_null(strstr(key, host));
}

static void test_release_from_sha256(void **ctx)
{
        /* SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
        static const unsigned char abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                               0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23 };
        char out[RELEASE_HASH_HEX + 1];

        (void)ctx;
        release_from_sha256(abc, out);
        assert_string_equal(out, "ba7816bf8f01cfea");
}

#define POLICY_HEAD "[batch]\nname = v1.0.1-a\n"
#define POLICY_TAIL \
        "[target c]\ncgroup = /c\nmemory_limit = 1GiB\n[rule r]\nmemory_ratio_above = 0.9\n"
/* printf '%s' "$POLICY_HEAD$POLICY_TAIL" | sha256sum | cut -c1-16 */
#define RELEASE_OF_POLICY "ca66dca19e389c41"

/* `release` names the rollout; without it the file's bytes do, stable and documented. */
static void test_policy_release(void **ctx)
{
        struct policy_diags d = { 0 };
        struct policy *p, *q;

        (void)ctx;
        assert_int_equal(policy_parse_string(POLICY_HEAD "release = rc-3\n" POLICY_TAIL, "a.ini",
                                             POLICY_LOAD_NO_MODE_CHECKS, &p, &d),
                         0);
        assert_string_equal(p->release, "rc-3");
        policy_free(p);
        assert_int_equal(policy_parse_string(POLICY_HEAD POLICY_TAIL, "a.ini",
                                             POLICY_LOAD_NO_MODE_CHECKS, &p, &d),
                         0);
        assert_int_equal(strlen(p->release), RELEASE_HASH_HEX);
        assert_int_equal(strspn(p->release, "0123456789abcdef"), RELEASE_HASH_HEX);
        assert_string_equal(p->release, RELEASE_OF_POLICY);
        assert_int_equal(policy_parse_string(POLICY_HEAD "; a comment\n" POLICY_TAIL, "b.ini",
                                             POLICY_LOAD_NO_MODE_CHECKS, &q, &d),
                         0);
        assert_string_not_equal(p->release, q->release);
        policy_free(q);
        policy_free(p);
        assert_int_equal(policy_parse_string(POLICY_HEAD "release = a:b\n" POLICY_TAIL, "a.ini",
                                             POLICY_LOAD_NO_MODE_CHECKS, &p, &d),
                         -EINVAL);
        policy_diags_clear(&d);
}

static const struct breaker_trip reason = { .instance = "canary-1", .rule = "mem", .t_ms = 1 };
static const struct policy_action actions[] = { { .name = "drain" }, { .name = "rollback" } };

/* Trips the state and returns the rollback's key in key. */
static void trip(struct state *s, const char *policy_release, char key[STATE_KEY_MAX + 1])
{
        assert_int_equal(state_begin_trip(s, &reason, 1795400225, actions, 2, policy_release), 0);
        strcpy(key, s->actions[1].key);
}

/* trip -> reset -> trip: a new key; --release: another; a new policy release: generation 0. */
static void test_reset_moves_the_key(void **ctx)
{
        char k1[STATE_KEY_MAX + 1], k2[STATE_KEY_MAX + 1], k3[STATE_KEY_MAX + 1],
                k4[STATE_KEY_MAX + 1], k5[STATE_KEY_MAX + 1];
        struct state *s, *other;

        (void)ctx;
        assert_int_equal(state_new("v1.0.1-a", &s), 0);
        assert_int_equal(state_new("v1.0.1-a", &other), 0);
        trip(s, "r1", k1);
        trip(other, "r1", k2);
        assert_string_equal(k1, "v1.0.1-a:r1:0:rollback");
        assert_string_equal(k1, k2); /* another node, another time, the same key */
        assert_int_equal(state_release_reset(s, "r1", NULL), 0);
        state_clear_trip(s);
        trip(s, "r1", k2);
        assert_string_equal(k2, "v1.0.1-a:r1:1:rollback");
        assert_int_equal(state_release_reset(s, "r1", "r2"), 0);
        state_clear_trip(s);
        trip(s, "r1", k3);
        assert_string_equal(k3, "v1.0.1-a:r2:0:rollback");
        assert_int_equal(state_release_reset(s, "r1", NULL), 0);
        state_clear_trip(s);
        trip(s, "r1", k4);
        assert_string_equal(k4, "v1.0.1-a:r2:1:rollback");
        /* The policy's release changes: --release r2 no longer applies, generation 0. */
        assert_int_equal(state_release_reset(s, "r1", NULL), 0);
        state_clear_trip(s);
        trip(s, "r9", k5);
        assert_string_equal(k5, "v1.0.1-a:r9:0:rollback");
        /* A bad --release changes nothing. */
        assert_int_equal(state_release_reset(s, "r9", "no:pe"), -EINVAL);
        assert_string_equal(s->release.id, "r9");
        state_free(other);
        state_free(s);
}

/* The record survives the file; a key that does not match it is refused; an old file loads
 * with no record and its <trip_id>-<name> keys, and the next reset starts at generation 1. */
static void test_file(void **ctx)
{
        char dir[] = "/tmp/test-release.XXXXXX", key[STATE_KEY_MAX + 1], *text = NULL, why[256];
        struct state *s, *back;
        char *bad;

        (void)ctx;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_new("v1.0.1-a", &s), 0);
        assert_int_equal(state_release_reset(s, "r1", NULL), 0);
        trip(s, "r1", key);
        s->actions[1].status = STATE_ACTION_IN_PROGRESS; /* a crash mid-send */
        assert_int_equal(state_save(dir, s), 0);
        assert_int_equal(state_load(dir, "v1.0.1-a", &back, NULL), 0);
        assert_true(back->release.set);
        assert_string_equal(back->release.policy, "r1");
        assert_int_equal(back->release.generation, 1);
        assert_string_equal(back->actions[1].key, key); /* resent under the same key */
        assert_true(back->actions[1].resumed);
        state_free(back);

        assert_int_equal(state_format(s, &text), 0);
        bad = strstr(text, "\"generation\": 1");
        assert_non_null(bad);
        bad[strlen("\"generation\": ")] = '2';
        assert_int_equal(state_parse(text, strlen(text), "v1.0.1-a", &back, why, sizeof(why)),
                         -EBADMSG);
        assert_non_null(strstr(why, "key does not match"));
        free(text);
        state_free(s);

        text = NULL;
        assert_int_equal(state_new("v1.0.1-a", &s), 0);
        assert_int_equal(state_format(s, &text), 0);
        assert_null(strstr(text, "release")); /* nothing new in a file that needs none */
        free(text);
        state_free(s);
        unlink(strcat(strcpy(why, dir), "/v1.0.1-a.json"));
        unlink(strcat(strcpy(why, dir), "/v1.0.1-a.json.prev"));
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_cases),
                cmocka_unit_test(test_key_bounds_and_content),
                cmocka_unit_test(test_release_from_sha256),
                cmocka_unit_test(test_policy_release),
                cmocka_unit_test(test_reset_moves_the_key),
                cmocka_unit_test(test_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
