/* SPDX-License-Identifier: MIT */
/*
 * The state file on disk: a missing file, the atomic save (mode 0640, no temp file left,
 * the previous copy kept, a stale temp removed at load), a failed save that keeps the old
 * file, a state dir that is a file, and two corrupt files moved aside in the same second.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "state-fixture.h"
#include "util.h"

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
        write_file(dir, "d", "x");
        assert_int_equal(state_save(sub, s), -ENOTDIR);
        assert_int_equal(state_save("/nonexistent-oombreaker", s), -ENOENT);
        assert_int_equal(count_entries(dir, NULL, 0), 1);
        assert_int_equal(unlink(sub), 0);
        state_free(s);
}

static void test_corrupt_same_second(void **ctx)
{
        struct state_load_error e1, e2;
        struct state *s = NULL;

        (void)ctx;
        write_file(dir, BATCH ".json", "x");
        assert_int_equal(state_load(dir, BATCH, &s, &e1), -EBADMSG);
        write_file(dir, BATCH ".json", "y");
        assert_int_equal(state_load(dir, BATCH, &s, &e2), -EBADMSG);
        assert_string_not_equal(e1.moved_to, e2.moved_to);
        assert_int_equal(count_entries(dir, NULL, 0), 2);
        unlink(e1.moved_to);
        unlink(e2.moved_to);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_temp_left, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_temp_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_write_keeps_old, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dir_is_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_same_second, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
