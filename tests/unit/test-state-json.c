/* SPDX-License-Identifier: MIT */
/*
 * The state file's JSON: each kind of corrupt file is moved aside with a reason that names
 * it, a corrupt file falls back to the copy the previous save kept, no key can carry a
 * token, and a file the release before the one model wrote loads as it was.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "state-fixture.h"
#include "util.h"

#define TRIP_JSON                                                                            \
        "\"trip\":{\"id\":\"T-1\",\"time\":\"2026-11-26T02:17:05Z\",\"t_ms\":5,\"reason\":{" \
        "\"instance\":\"c\",\"rule\":\"r\",\"consecutive\":3,\"limit\":3,\"conditions\":[]}}"
#define HEAD "{\"version\":1,\"batch\":\"" BATCH "\","

struct corrupt_case {
        const char *text; /* NULL: an oversize file */
        const char *fragment;
};

static const struct corrupt_case corrupt_cases[] = {
        { "", "not JSON" },
        { "{\"version\":1,", "not JSON" },
        { "[]", "object" },
        { "{}", "version" },
        { HEAD "\"phase\":\"exploded\",\"trip\":null,\"oom_baselines\":{},\"actions\":[]}",
          "unknown phase" },
        { HEAD "\"phase\":\"armed\",\"trip\":null,\"oom_baselines\":{},\"actions\":[],"
               "\"token\":\"s3cret\"}",
          "token" },
        { "{\"version\":2,\"batch\":\"" BATCH "\",\"phase\":\"armed\",\"trip\":null,"
          "\"oom_baselines\":{},\"actions\":[]}",
          "version 2" },
        { "{\"version\":1,\"batch\":\"other\",\"phase\":\"armed\",\"trip\":null,"
          "\"oom_baselines\":{},\"actions\":[]}",
          "holds batch" },
        { HEAD "\"phase\":\"tripped\",\"trip\":null,\"oom_baselines\":{},\"actions\":[]}",
          "without a trip" },
        { HEAD "\"phase\":\"armed\",\"trip\":null,\"oom_baselines\":{\"c\":-1},\"actions\":[]}",
          "not a count" },
        { HEAD
          "\"phase\":\"tripped\"," TRIP_JSON ",\"oom_baselines\":{},\"actions\":[{\"name\":"
          "\"drain\",\"status\":\"done\",\"attempts\":1,\"result\":\"\",\"key\":\"T-2-drain\"}]}",
          "key does not match" },
        { HEAD
          "\"phase\":\"tripped\"," TRIP_JSON ",\"oom_baselines\":{},\"actions\":[{\"name\":"
          "\"drain\",\"status\":\"sent\",\"attempts\":1,\"result\":\"\",\"key\":\"T-1-drain\"}]}",
          "unknown status" },
        { HEAD "\"phase\":\"tripped\"," TRIP_JSON ",\"oom_baselines\":{},\"actions\":[{\"name\":"
               "\"drain\",\"status\":\"done\",\"attempts\":1,\"result\":\"\",\"key\":\"T-1-drain\","
               "\"authorization\":\"Bearer x\"}]}",
          "authorization" },
        { NULL, "larger than" },
};

static void test_corrupt_moved_aside(void **ctx)
{
        char path[PATH_MAX * 2];

        (void)ctx;
        snprintf(path, sizeof(path), "%s/" BATCH ".json", dir);
        for (size_t c = 0; c < ELEMENTSOF(corrupt_cases); c++) {
                const struct corrupt_case *tc = &corrupt_cases[c];
                struct state_load_error err = { 0 };
                struct state *s = NULL;
                char *text, *moved;
                size_t len;

                if (tc->text) {
                        text = strdup(tc->text);
                        len = strlen(text);
                } else {
                        len = STATE_FILE_MAX + 1;
                        text = malloc(len + 1);
                        memset(text, ' ', len);
                        memcpy(text, "{}", 2);
                        text[len] = '\0';
                }
                write_file(dir, BATCH ".json", text);
                assert_int_equal(state_load(dir, BATCH, &s, &err), -EBADMSG);
                assert_null(s);
                if (!strstr(err.reason, tc->fragment))
                        fail_msg("case %zu: reason \"%s\" lacks \"%s\"", c, err.reason,
                                 tc->fragment);
                assert_int_equal(access(path, F_OK), -1);
                assert_int_equal(strncmp(err.moved_to, path, strlen(path)), 0);
                assert_non_null(strstr(err.moved_to, ".corrupt-"));
                moved = read_file(err.moved_to);
                assert_memory_equal(moved, text, len);
                assert_int_equal(unlink(err.moved_to), 0);
                free(moved);
                free(text);
        }
}

struct prev_case {
        const char *main; /* what the main file becomes */
        const char *prev; /* what the kept copy becomes; NULL: as the last save left it */
        int load;         /* state_load()'s answer */
};

static const struct prev_case prev_cases[] = {
        { "", NULL, 1 },
        { "{\"version\":1,\"batch\":", NULL, 1 },
        { "{}", NULL, 1 },
        { "x", "y", -EBADMSG },
};

/*
 * A tripped batch whose file is corrupted after two saves (the trip, then its first
 * attempt) loads the copy of the first save: the trip and its pending actions survive.
 */
static void test_corrupt_loads_prev(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(prev_cases); c++) {
                const struct prev_case *tc = &prev_cases[c];
                struct state *s = make_tripped(), *back = NULL;
                struct state_load_error err = { 0 };
                char id[BREAKER_TRIP_ID_MAX + 1];

                strcpy(id, s->trip.id);
                assert_int_equal(state_save(dir, s), 0);
                state_action_begin_attempt(&s->actions[0]);
                assert_int_equal(state_save(dir, s), 0);
                write_file(dir, BATCH ".json", tc->main);
                if (tc->prev)
                        write_file(dir, BATCH ".json.prev", tc->prev);
                assert_int_equal(state_load(dir, BATCH, &back, &err), tc->load);
                assert_non_null(strstr(err.moved_to, ".corrupt-"));
                assert_int_equal(unlink(err.moved_to), 0);
                if (tc->load == 1) {
                        assert_int_equal(back->phase, BREAKER_TRIPPED);
                        assert_string_equal(back->trip.id, id);
                        assert_int_equal(back->n_actions, 3);
                        assert_int_equal(back->actions[0].status, STATE_ACTION_PENDING);
                        assert_int_equal(back->actions[0].attempts, 0);
                        /* The next save writes the file again and keeps the good copy. */
                        assert_int_equal(state_save(dir, back), 0);
                        state_free(back);
                        back = NULL;
                        assert_int_equal(state_load(dir, BATCH, &back, NULL), 0);
                        assert_string_equal(back->trip.id, id);
                }
                state_free(back);
                state_free(s);
        }
}

static const char *const allowed_keys[] = {
        "version", "batch",     "phase",         "trip",        "id",     "time",       "t_ms",
        "reason",  "instance",  "rule",          "consecutive", "limit",  "conditions", "metric",
        "value",   "threshold", "oom_baselines", "actions",     "name",   "status",     "attempts",
        "result",  "key",       "on_failure",    "release",     "policy", "generation",
};

static void check_keys(json_t *j, bool baselines)
{
        const char *k;
        json_t *v;
        size_t i;

        if (json_is_array(j))
                json_array_foreach(j, i, v) check_keys(v, false);
        if (!json_is_object(j))
                return;
        json_object_foreach(j, k, v)
        {
                bool known = baselines; /* instance names are the keys there */

                for (i = 0; i < ELEMENTSOF(allowed_keys); i++)
                        known = known || strcmp(k, allowed_keys[i]) == 0;
                if (!known)
                        fail_msg("unexpected key \"%s\" in the state file", k);
                check_keys(v, strcmp(k, "oom_baselines") == 0);
        }
}

static void test_no_token_keys(void **ctx)
{
        struct state *s = make_tripped();
        char path[PATH_MAX * 2];
        json_error_t je;
        char *text;
        json_t *j;

        (void)ctx;
        assert_int_equal(state_save(dir, s), 0);
        snprintf(path, sizeof(path), "%s/" BATCH ".json", dir);
        text = read_file(path);
        j = json_loads(text, 0, &je);
        assert_non_null(j);
        check_keys(j, false);
        for (const char *p = text; *p; p++)
                assert_int_not_equal(strncasecmp(p, "token", 5), 0);
        assert_null(strcasestr(text, "bearer"));
        json_decref(j);
        free(text);
        state_free(s);
}

static const char *source_dir(void)
{
        const char *d = getenv("OOMBREAKER_SOURCE_DIR");

        return d ? d : ".";
}

/* A file the release before the one model wrote (tests/fixtures/state) loads as it was. */
static void test_old_format_loads(void **ctx)
{
        _cleanup_free_ char *text = NULL, *again = NULL, *path = NULL;
        struct state *s;

        (void)ctx;
        assert_true(asprintf(&path, "%s/tests/fixtures/state/v1.0.1-a.json", source_dir()) > 0);
        text = read_file(path);
        assert_int_equal(state_parse(text, strlen(text), "v1.0.1-a", &s, NULL, 0), 0);
        assert_int_equal(s->phase, BREAKER_TRIPPED);
        assert_true(s->has_trip);
        assert_string_equal(s->trip.id, "v1-0-1-a-20261123T021705Z-b2da295f8ac341b4");
        assert_string_equal(s->trip.time, "2026-11-23T02:17:05Z");
        assert_int_equal(s->trip.t_ms, 225000);
        assert_string_equal(s->trip.instance, "canary-1");
        assert_string_equal(s->trip.rule, "heap-pressure");
        assert_int_equal(s->trip.n_conditions, 2);
        assert_int_equal(s->trip.conditions[0].metric, COND_MEMORY_RATIO);
        assert_true(s->trip.conditions[0].has_value && s->trip.conditions[0].value == 0.9375);
        assert_int_equal(s->trip.conditions[1].metric, COND_GC_PER_MINUTE);
        assert_true(s->trip.conditions[1].threshold == 15);
        assert_int_equal(s->n_actions, 3);
        assert_int_equal(s->actions[0].status, STATE_ACTION_DONE);
        assert_int_equal(s->actions[1].status, STATE_ACTION_PENDING); /* was in progress */
        assert_true(s->actions[1].resumed);
        assert_int_equal(s->actions[1].attempts, 2);
        state_free(s);

        /* With nothing in progress, the file comes back byte for byte. */
        free(path);
        free(text);
        assert_true(asprintf(&path, "%s/tests/fixtures/state/v1.0.2-b.json", source_dir()) > 0);
        text = read_file(path);
        assert_int_equal(state_parse(text, strlen(text), "v1.0.2-b", &s, NULL, 0), 0);
        assert_int_equal(s->phase, BREAKER_ROLLED_BACK);
        assert_int_equal(state_format(s, &again), 0);
        assert_string_equal(again, text);
        state_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_corrupt_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_loads_prev, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_token_keys, setup, teardown),
                cmocka_unit_test(test_old_format_loads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
