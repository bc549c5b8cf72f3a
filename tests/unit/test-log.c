/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "util.h"

/* stderr goes to a fresh temporary file for the duration of one test. */
static int saved_stderr = -1;
static char path[] = "/tmp/oombreaker-test-log-XXXXXX";

static int redirect(void **state)
{
        int fd = mkstemp(path);

        (void)state;
        if (fd < 0)
                return -1;
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        unsetenv("JOURNAL_STREAM");
        return 0;
}

static int restore(void **state)
{
        (void)state;
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        unlink(path);
        strcpy(path + strlen(path) - 6, "XXXXXX");
        log_set_format(LOG_FORMAT_AUTO);
        return 0;
}

/* What was written to stderr so far. */
static char *captured(void)
{
        static char buf[8192];
        FILE *f;
        size_t n;

        fflush(stderr);
        f = fopen(path, "r");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

/* "DEV:INODE" of the file open on fd. */
static void stream_of(int fd, char *buf, size_t size)
{
        struct stat st;

        assert_int_equal(fstat(fd, &st), 0);
        snprintf(buf, size, "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
}

static void test_is_journal(void **state)
{
        char mine[64], other[64], trailing[80];

        (void)state;
        stream_of(STDERR_FILENO, mine, sizeof(mine));
        stream_of(STDIN_FILENO, other, sizeof(other));
        snprintf(trailing, sizeof(trailing), "%s:1", mine);
        assert_true(log_stream_is_journal(mine, STDERR_FILENO));
        assert_false(strcmp(mine, other) != 0 && log_stream_is_journal(other, STDERR_FILENO));
        assert_false(log_stream_is_journal(NULL, STDERR_FILENO));
        assert_false(log_stream_is_journal("", STDERR_FILENO));
        assert_false(log_stream_is_journal("12", STDERR_FILENO));
        assert_false(log_stream_is_journal(trailing, STDERR_FILENO));
        assert_false(log_stream_is_journal(mine, -1));
}

static void test_format_names(void **state)
{
        (void)state;
        assert_int_equal(log_format_from_string("auto"), LOG_FORMAT_AUTO);
        assert_int_equal(log_format_from_string("text"), LOG_FORMAT_TEXT);
        assert_int_equal(log_format_from_string("json"), LOG_FORMAT_JSON);
        assert_int_equal(log_format_from_string("journal"), -EINVAL);
        assert_int_equal(log_format_from_string("JSON"), -EINVAL);
}

static void test_text(void **state)
{
        (void)state;
        log_set_format(LOG_FORMAT_TEXT);
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = "b1", .rule = "mem"), "batch %s: %s", "b1",
                 "two\nlines");
        log_debug("dropped at the default level");
        log_error("plain");
        assert_string_equal(captured(), "batch b1: two lines\nplain\n");
}

/* Stderr is the journal but no journald listens here: the line falls back to stderr. */
static void test_journal_unreachable(void **state)
{
        char mine[64];

        (void)state;
        stream_of(STDERR_FILENO, mine, sizeof(mine));
        setenv("JOURNAL_STREAM", mine, 1);
        if (access("/run/systemd/journal/socket", F_OK) == 0)
                skip(); /* a real journal would take the line */
        log_set_format(LOG_FORMAT_AUTO);
        log_notice("kept");
        assert_string_equal(captured(), "kept\n");
}

static void test_json(void **state)
{
        json_error_t err;
        json_t *a, *b;
        char *nl;

        (void)state;
        log_set_format(LOG_FORMAT_JSON);
        log_full(LOG_LEVEL_ERR,
                 LOG_FIELDS(.batch = "b1", .target = "canary-1", .rule = "mem", .phase = "tripped"),
                 "batch %s TRIPPED: \"quoted\"", "b1");
        log_warning("no fields");
        nl = strchr(captured(), '\n');
        assert_non_null(nl);
        a = json_loadb(captured(), (size_t)(nl - captured()), 0, &err);
        b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &err);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(json_integer_value(json_object_get(a, "schema")), 1);
        assert_int_equal(json_integer_value(json_object_get(a, "priority")), 3);
        assert_string_equal(json_string_value(json_object_get(a, "level")), "err");
        assert_string_equal(json_string_value(json_object_get(a, "message")),
                            "batch b1 TRIPPED: \"quoted\"");
        assert_string_equal(json_string_value(json_object_get(a, "target")), "canary-1");
        assert_string_equal(json_string_value(json_object_get(a, "phase")), "tripped");
        assert_null(json_object_get(a, "action"));
        assert_non_null(json_object_get(a, "time"));
        assert_string_equal(json_string_value(json_object_get(b, "level")), "warning");
        assert_null(json_object_get(b, "batch"));
        json_decref(a);
        json_decref(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_is_journal, redirect, restore),
                cmocka_unit_test(test_format_names),
                cmocka_unit_test_setup_teardown(test_text, redirect, restore),
                cmocka_unit_test_setup_teardown(test_journal_unreachable, redirect, restore),
                cmocka_unit_test_setup_teardown(test_json, redirect, restore),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
