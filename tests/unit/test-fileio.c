/* SPDX-License-Identifier: MIT */
/*
 * fileio on real files in a temp directory: atomic replacement (content, exact mode, no temp
 * left, the old file untouched on failure), capped reads (limits, non-regular files,
 * errors), moving aside without replacing, and removing stale temps.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "util.h"

struct tmp {
        char dir[64];
        char path[PATH_MAX];
};

static int setup(void **state)
{
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        snprintf(t->dir, sizeof(t->dir), "/tmp/test-fileio-XXXXXX");
        if (!mkdtemp(t->dir))
                return -1;
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tmp *t = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        free(t);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *at(struct tmp *t, const char *name)
{
        snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
        return t->path;
}

static void put(struct tmp *t, const char *name, const char *text)
{
        FILE *f = fopen(at(t, name), "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* The names in dir, sorted, joined by spaces. */
static void listing(const char *dir, char *buf, size_t size)
{
        char cmd[128];
        FILE *p;
        size_t n;

        snprintf(cmd, sizeof(cmd), "ls -A '%s' | tr '\\n' ' '", dir);
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(buf, 1, size - 1, p);
        buf[n] = '\0';
        assert_int_equal(pclose(p), 0);
}

static void assert_content(const char *path, const char *want)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        assert_int_equal(fileio_read_capped(path, 4096, &text, &len), 0);
        assert_int_equal(len, strlen(want));
        assert_string_equal(text, want);
}

static void test_write_atomic(void **state)
{
        struct tmp *t = *state;
        struct stat st;
        char names[256];
        mode_t old = umask(077);

        assert_int_equal(fileio_write_atomic(t->dir, "s.json", "one\n", 4, 0640), 0);
        assert_content(at(t, "s.json"), "one\n");
        assert_int_equal(stat(at(t, "s.json"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640); /* exact, whatever the umask */
        /* Replacing: new content, still one file, no temp left behind. */
        assert_int_equal(fileio_write_atomic(t->dir, "s.json", "two, longer\n", 12, 0600), 0);
        assert_content(at(t, "s.json"), "two, longer\n");
        assert_int_equal(stat(at(t, "s.json"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        listing(t->dir, names, sizeof(names));
        assert_string_equal(names, "s.json ");
        /* Binary data with NULs is written as given. */
        assert_int_equal(fileio_write_atomic(t->dir, "b", "a\0b", 3, 0600), 0);
        assert_int_equal(stat(at(t, "b"), &st), 0);
        assert_int_equal(st.st_size, 3);
        umask(old);
}

static void test_write_atomic_errors(void **state)
{
        struct tmp *t = *state;
        char names[256], longdir[PATH_MAX + 16];

        assert_int_equal(fileio_write_atomic(t->dir, "", "x", 1, 0600), -EINVAL);
        assert_int_equal(fileio_write_atomic(t->dir, "a/b", "x", 1, 0600), -EINVAL);
        assert_int_equal(fileio_write_atomic(at(t, "missing"), "f", "x", 1, 0600), -ENOENT);
        put(t, "file", "x");
        assert_int_equal(fileio_write_atomic(at(t, "file"), "f", "x", 1, 0600), -ENOTDIR);
        memset(longdir, 'd', sizeof(longdir) - 1);
        longdir[sizeof(longdir) - 1] = '\0';
        assert_int_equal(fileio_write_atomic(longdir, "f", "x", 1, 0600), -ENAMETOOLONG);
        /* The rename fails (the target is a non-empty directory): it stays as it was and the
         * temp file is gone. */
        assert_int_equal(mkdir(at(t, "d"), 0700), 0);
        put(t, "d/inside", "kept");
        assert_true(fileio_write_atomic(t->dir, "d", "x", 1, 0600) < 0);
        assert_content(at(t, "d/inside"), "kept");
        listing(t->dir, names, sizeof(names));
        assert_string_equal(names, "d file ");
}

static void test_read_capped(void **state)
{
        struct tmp *t = *state;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        struct stat st;
        size_t len = 99;
        char *untouched = (char *)"x";

        put(t, "ten", "0123456789");
        assert_int_equal(fileio_read_capped_stat(at(t, "ten"), 10, &a, &len, &st), 0);
        assert_int_equal(len, 10);
        assert_string_equal(a, "0123456789");
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 10);
        /* One byte over the cap: refused, out-parameters untouched. */
        len = 99;
        assert_int_equal(fileio_read_capped(at(t, "ten"), 9, &untouched, &len), -EFBIG);
        assert_string_equal(untouched, "x");
        assert_int_equal(len, 99);
        put(t, "empty", "");
        assert_int_equal(fileio_read_capped(at(t, "empty"), 0, &b, &len), 0);
        assert_int_equal(len, 0);
        assert_string_equal(b, "");
        /* procfs reports size 0 for files with content: the size is a hint, not the truth. */
        assert_int_equal(fileio_read_capped("/proc/self/status", 64 * 1024, &c, &len), 0);
        assert_true(len > 0);
        assert_non_null(strstr(c, "Name:"));
}

static void test_read_capped_errors(void **state)
{
        struct tmp *t = *state;
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(fileio_read_capped(at(t, "missing"), 10, &text, &len), -ENOENT);
        assert_int_equal(fileio_read_capped(t->dir, 10, &text, &len), -EBADF);
        assert_int_equal(fileio_read_capped("/dev/null", 10, &text, &len), -EBADF);
        /* A FIFO without a writer must not block the reader. */
        assert_int_equal(mkfifo(at(t, "fifo"), 0600), 0);
        assert_int_equal(fileio_read_capped(at(t, "fifo"), 10, &text, &len), -EBADF);
        put(t, "f", "x");
        assert_int_equal(fileio_read_capped(at(t, "f/x"), 10, &text, &len), -ENOTDIR);
        assert_null(text);
}

static void test_move_aside(void **state)
{
        struct tmp *t = *state;
        char first[PATH_MAX], second[PATH_MAX], names[512], tiny[8];
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s", at(t, "s.json"));
        put(t, "s.json", "first");
        assert_int_equal(fileio_move_aside(path, "corrupt", first, sizeof(first)), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(strncmp(first, path, strlen(path)), 0);
        assert_non_null(strstr(first, ".corrupt-"));
        assert_content(first, "first");
        /* Again within the same second: a new name, nothing replaced. */
        put(t, "s.json", "second");
        assert_int_equal(fileio_move_aside(path, "corrupt", second, sizeof(second)), 0);
        assert_string_not_equal(first, second);
        assert_content(first, "first");
        assert_content(second, "second");
        listing(t->dir, names, sizeof(names));
        assert_null(strstr(names, "s.json "));
        assert_int_equal(fileio_move_aside(path, "corrupt", second, sizeof(second)), -ENOENT);
        put(t, "s.json", "third");
        assert_int_equal(fileio_move_aside(path, "corrupt", tiny, sizeof(tiny)), -ENAMETOOLONG);
        assert_content(path, "third");
}

static void test_remove_stale_temps(void **state)
{
        struct tmp *t = *state;
        char names[512];

        put(t, "s.json", "live");
        put(t, ".s.json.tmp-a1B2c3", "stale");
        put(t, ".s.json.tmp-Zz9Yy8", "stale");
        put(t, ".s.json.tmp-short", "not ours: 5 characters");
        put(t, ".other.json.tmp-a1B2c3", "another file's");
        assert_int_equal(fileio_remove_stale_temps(t->dir, "s.json"), 2);
        listing(t->dir, names, sizeof(names));
        assert_string_equal(names, ".other.json.tmp-a1B2c3 .s.json.tmp-short s.json ");
        assert_int_equal(fileio_remove_stale_temps(t->dir, "s.json"), 0);
        assert_int_equal(fileio_remove_stale_temps(at(t, "missing"), "s.json"), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_atomic_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_capped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_capped_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_move_aside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_stale_temps, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
