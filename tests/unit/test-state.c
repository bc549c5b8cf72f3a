/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "state.h"
#include "util.h"

#define BATCH "v1.0.1-a"

static char dir[PATH_MAX];

static int setup(void **ctx)
{
        (void)ctx;
        snprintf(dir, sizeof(dir), "/tmp/test-state-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

/* Removes every entry of dir (it is flat), then dir itself. */
static int teardown(void **ctx)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char p[PATH_MAX * 2];

        (void)ctx;
        while (d && (e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                        unlink(p);
                }
        if (d)
                closedir(d);
        return rmdir(dir);
}

/* Number of entries in dir other than . and .., and the name of the last one seen. */
static int count_entries(const char *path, char *last, size_t size)
{
        DIR *d = opendir(path);
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                        n++;
                        if (last)
                                snprintf(last, size, "%s", e->d_name);
                }
        closedir(d);
        return n;
}

static void write_file(const char *name, const char *text, size_t len)
{
        char p[PATH_MAX * 2];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = calloc(1, 2 * 1024 * 1024);
        size_t n;

        assert_non_null(f);
        assert_non_null(buf);
        n = fread(buf, 1, 2 * 1024 * 1024 - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static const struct breaker_trip reason = {
        .t_ms = 210000,
        .instance = "canary-1",
        .rule = "heap-pressure",
        .consecutive = 3,
        .limit = 3,
        .conditions = { { COND_MEMORY_RATIO, true, 0.95, 0.92 },
                        { COND_HEAP_RATIO, false, 0, 0.9 }, /* no data: not recorded */
                        { COND_GC_PER_MINUTE, true, 18, 15 } },
        .n_conditions = 3,
};

static const char *const action_names[] = { "drain", "rollback", "notify" };
static const struct policy_action policy_actions[] = { { .name = "drain" },
                                                       { .name = "rollback" },
                                                       { .name = "notify" } };

/* A tripped state with the three actions and two baselines. */
static struct state *make_tripped(void)
{
        struct state *s;

        assert_int_equal(state_new(BATCH, &s), 0);
        assert_int_equal(state_baseline_set(s, "canary-1", 2), 0);
        assert_int_equal(state_baseline_set(s, "canary-2", 0), 0);
        assert_int_equal(state_begin_trip(s, &reason, 1795400225, policy_actions, 3, "r1"), 0);
        return s;
}

static struct state *save_and_load(const struct state *s)
{
        struct state_load_error err;
        struct state *back = NULL;

        assert_int_equal(state_save(dir, s), 0);
        assert_int_equal(state_load(dir, s->batch, &back, &err), 0);
        return back;
}

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

static void test_missing(void **ctx)
{
        struct state *s = NULL;

        (void)ctx;
        assert_int_equal(state_load(dir, BATCH, &s, NULL), -ENOENT);
        assert_null(s);
        assert_int_equal(state_load(dir, "../etc", &s, NULL), -EINVAL);
}

static void test_no_temp_left(void **ctx)
{
        struct state *s = make_tripped();
        char last[NAME_MAX + 1];
        struct stat st;
        char p[PATH_MAX * 2];

        (void)ctx;
        for (int i = 0; i < 5; i++)
                assert_int_equal(state_save(dir, s), 0);
        /* The file and the copy the last save kept. */
        assert_int_equal(count_entries(dir, last, sizeof(last)), 2);
        snprintf(p, sizeof(p), "%s/" BATCH ".json", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        snprintf(p, sizeof(p), "%s/" BATCH ".json.prev", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        state_free(s);
}

/* A temp file left by a crash mid-save is removed at load; other files are left alone. */
static void test_stale_temp_removed(void **ctx)
{
        static const char *const names[] = { "." BATCH ".json.tmp-Ab12Cd", "." BATCH ".json.tmp-x",
                                             ".other.json.tmp-Ab12Cd" };
        struct state *s = make_tripped(), *back = NULL;
        char last[NAME_MAX + 1], p[PATH_MAX * 2];

        (void)ctx;
        assert_int_equal(state_save(dir, s), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
                close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        }
        assert_int_equal(count_entries(dir, last, sizeof(last)), 4);
        assert_int_equal(state_load(dir, BATCH, &back, NULL), 0);
        /* Only the mkostemp-shaped temp of this batch went. */
        assert_int_equal(count_entries(dir, last, sizeof(last)), 3);
        snprintf(p, sizeof(p), "%s/%s", dir, names[0]);
        assert_int_equal(access(p, F_OK), -1);
        state_free(back);
        state_free(s);
}

/* Makes the next save fail in a different way; returns false when this host cannot. */
typedef bool (*break_fn)(const char *sub, struct rlimit *saved);

static bool break_fsize(const char *sub, struct rlimit *saved)
{
        struct rlimit small = { 64, 64 };

        (void)sub;
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, saved), 0);
        small.rlim_max = saved->rlim_max;
        return setrlimit(RLIMIT_FSIZE, &small) == 0;
}

static bool break_readonly(const char *sub, struct rlimit *saved)
{
        (void)saved;
        assert_int_equal(chmod(sub, 0500), 0);
        return access(sub, W_OK) != 0; /* root writes anyway */
}

struct fail_case {
        const char *name;
        break_fn breaker;
        int error;
};

static const struct fail_case fail_cases[] = {
        { "file size limit", break_fsize, -EFBIG },
        { "read-only dir", break_readonly, -EACCES },
};

static void test_failed_write_keeps_old(void **ctx)
{
        char sub[PATH_MAX + 8], path[PATH_MAX * 2];

        (void)ctx;
        snprintf(sub, sizeof(sub), "%s/d", dir);
        snprintf(path, sizeof(path), "%s/" BATCH ".json", sub);
        for (size_t c = 0; c < ELEMENTSOF(fail_cases); c++) {
                struct state *s = make_tripped();
                struct rlimit saved = { RLIM_INFINITY, RLIM_INFINITY };
                char *before, *after;
                bool broken;

                assert_int_equal(mkdir(sub, 0750), 0);
                assert_int_equal(state_save(sub, s), 0);
                before = read_file(path);
                state_action_begin_attempt(&s->actions[0]);
                broken = fail_cases[c].breaker(sub, &saved);
                if (broken)
                        assert_int_equal(state_save(sub, s), fail_cases[c].error);
                setrlimit(RLIMIT_FSIZE, &saved);
                chmod(sub, 0750);
                if (!broken)
                        print_message("skipped %s: cannot be forced here\n", fail_cases[c].name);
                after = read_file(path);
                assert_string_equal(before, after);
                assert_int_equal(count_entries(sub, NULL, 0), 1);
                assert_int_equal(unlink(path), 0);
                assert_int_equal(rmdir(sub), 0);
                free(before);
                free(after);
                state_free(s);
        }
}

static void test_dir_is_a_file(void **ctx)
{
        struct state *s = make_tripped();
        char sub[PATH_MAX + 8];

        (void)ctx;
        snprintf(sub, sizeof(sub), "%s/d", dir);
        write_file("d", "x", 1);
        assert_int_equal(state_save(sub, s), -ENOTDIR);
        assert_int_equal(state_save("/nonexistent-oombreaker", s), -ENOENT);
        assert_int_equal(count_entries(dir, NULL, 0), 1);
        assert_int_equal(unlink(sub), 0);
        state_free(s);
}

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
                write_file(BATCH ".json", text, len);
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
                write_file(BATCH ".json", tc->main, strlen(tc->main));
                if (tc->prev)
                        write_file(BATCH ".json.prev", tc->prev, strlen(tc->prev));
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

static void test_corrupt_same_second(void **ctx)
{
        struct state_load_error e1, e2;
        struct state *s = NULL;

        (void)ctx;
        write_file(BATCH ".json", "x", 1);
        assert_int_equal(state_load(dir, BATCH, &s, &e1), -EBADMSG);
        write_file(BATCH ".json", "y", 1);
        assert_int_equal(state_load(dir, BATCH, &s, &e2), -EBADMSG);
        assert_string_not_equal(e1.moved_to, e2.moved_to);
        assert_int_equal(count_entries(dir, NULL, 0), 2);
        unlink(e1.moved_to);
        unlink(e2.moved_to);
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
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_armed_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trip_id_and_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_temp_left, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_temp_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_write_keeps_old, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dir_is_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_moved_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_same_second, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_loads_prev, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_token_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_walk, setup, teardown),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_old_format_loads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
