/* SPDX-License-Identifier: MIT */
/*
 * The HTTP engine without a peer: options it refuses before any request, the loop's own fds
 * waking http_poll(), and the excerpt of a body that goes into a reason.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "unit-helpers.h"
#include "util.h"

/* A refused request never calls back. */
static void on_done(uint64_t id, struct http_response *resp, void *userdata)
{
        (void)resp, (void)userdata;
        fail_msg("request %llu called back", (unsigned long long)id);
}

struct bad_case {
        const char *name;
        struct http_request_opts o;
};

static const char *const crlf_header[] = { "X-A: b\r\nX-Injected: 1" };
static const char *const no_colon_header[] = { "X-A" };

static const struct bad_case bad_cases[] = {
        { "no url", { .timeout_ms = 1000 } },
        { "no timeout", { .url = "http://127.0.0.1:1/" } },
        { "ftp scheme", { .url = "ftp://127.0.0.1/x", .timeout_ms = 1000 } },
        { "file scheme", { .url = "file:///etc/passwd", .timeout_ms = 1000 } },
        { "newline in url", { .url = "http://127.0.0.1/\r\nX: y", .timeout_ms = 1000 } },
        { "header injection",
          { .url = "http://127.0.0.1/",
            .timeout_ms = 1000,
            .headers = crlf_header,
            .n_headers = 1 } },
        { "header without colon",
          { .url = "http://127.0.0.1/",
            .timeout_ms = 1000,
            .headers = no_colon_header,
            .n_headers = 1 } },
        { "headers count without array",
          { .url = "http://127.0.0.1/", .timeout_ms = 1000, .n_headers = 1 } },
        { "token with newline",
          { .url = "http://127.0.0.1/", .timeout_ms = 1000, .bearer_token = "a\nb" } },
        { "method with space",
          { .url = "http://127.0.0.1/", .timeout_ms = 1000, .method = "GE T" } },
        { "body length without body",
          { .url = "http://127.0.0.1/", .timeout_ms = 1000, .body_len = 3 } },
};

static void test_bad_options(void **state)
{
        struct http *h = NULL;
        uint64_t id = 99;

        (void)state;
        assert_int_equal(http_new(&h), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                print_message("case: %s\n", bad_cases[i].name);
                assert_int_equal(http_submit(h, &bad_cases[i].o, on_done, NULL, &id), -EINVAL);
                assert_int_equal(id, 99); /* untouched on failure */
        }
        assert_int_equal(http_pending(h), 0);
        http_free(h);
}

/* The loop's own fds wake http_poll() and get their revents. */
static void test_extra_fds(void **state)
{
        struct http *h = NULL;
        struct http_waitfd w[2];
        int p[2], q[2];
        int64_t t0;

        (void)state;
        assert_int_equal(pipe(p), 0);
        assert_int_equal(pipe(q), 0);
        assert_int_equal(http_new(&h), 0);
        assert_int_equal(write(p[1], "x", 1), 1);
        w[0] = (struct http_waitfd){ .fd = p[0], .events = POLLIN };
        w[1] = (struct http_waitfd){ .fd = q[0], .events = POLLIN };
        t0 = mono_ms();
        assert_int_equal(http_poll(h, w, 2, 10000), 0);
        assert_true(mono_ms() - t0 < 5000);
        assert_true(w[0].revents & POLLIN);
        assert_int_equal(w[1].revents, 0);
        assert_int_equal(http_poll(h, w, HTTP_WAITFDS_MAX + 1, 0), -EINVAL);
        assert_int_equal(http_poll(h, w, 2, -1), -EINVAL);
        http_free(h);
        close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

struct excerpt_case {
        const char *in;
        size_t size;
        const char *out;
};

static const struct excerpt_case excerpt_cases[] = {
        { "short", 16, "short" },
        { "line1\nline2\t\x01", 32, "line1?line2??" },
        { "abcdefghijklmnop", 8, "abcd..." },
        { "abcdefg", 8, "abcdefg" },
        { "\xc3\xa9t\xc3\xa9", 16, "??t??" },
        { "abc", 1, "" },
        { "internal error\r\n", 64, "internal error" },
        { "\n\n", 8, "" },
};

static void test_excerpt(void **state)
{
        char buf[64];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(excerpt_cases); i++) {
                const struct excerpt_case *c = &excerpt_cases[i];

                assert_string_equal(http_body_excerpt(c->in, strlen(c->in), buf, c->size), c->out);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_options),
                cmocka_unit_test(test_extra_fds),
                cmocka_unit_test(test_excerpt),
        };

        return cmocka_run_group_tests_name("http-local", tests, NULL, NULL);
}
