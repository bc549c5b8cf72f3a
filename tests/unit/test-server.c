/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server.h"
#include "util.h"

/* Sends "GET path" to 127.0.0.1:port and returns the whole reply in buf. */
static void get(uint16_t port, const char *path, char *buf, size_t size)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char req[256];
        size_t len = 0;
        ssize_t n;

        assert_true(fd >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        while (len + 1 < size && (n = read(fd, buf + len, size - len - 1)) > 0)
                len += (size_t)n;
        buf[len] = '\0';
}

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* What the fake loop renders, and how often it was asked to. */
static atomic_int renders;
static atomic_bool stop;

static int render(void *userdata, enum server_page page, char **ret_body)
{
        (void)userdata;
        renders++;
        *ret_body = strdup(page == SERVER_PAGE_METRICS ? "oombreaker_trips_total{batch=\"b\"} 0\n"
                                                       : "{\"batches\":[1]}\n");
        return *ret_body ? 0 : -ENOMEM;
}

/* The loop's part: polls the server's fd and dispatches, as the agent's loop does. */
static void *drive(void *userdata)
{
        struct server *s = userdata;

        while (!stop) {
                struct pollfd p = server_pollfd(s);

                poll(&p, 1, 50);
                server_dispatch(s);
        }
        return NULL;
}

struct case_ {
        const char *path;
        const char *status_line;
        const char *fragment;
};

static void test_endpoints(void **state)
{
        static const struct case_ cases[] = {
                { "/metrics", "HTTP/1.1 200", "oombreaker_trips_total{batch=\"b\"} 0" },
                { "/metrics", "HTTP/1.1 200", "version=0.0.4" },
                { "/status", "HTTP/1.1 200", "{\"batches\":[1]}" },
                { "/healthz", "HTTP/1.1 200", "ok" },
                { "/nope", "HTTP/1.1 404", "not found" },
        };
        struct server *s = NULL;
        pthread_t th;
        char buf[4096];

        (void)state;
        assert_int_equal(server_start("127.0.0.1:0", render, NULL, &s), 0);
        assert_true(server_port(s) > 0);
        stop = false;
        assert_int_equal(pthread_create(&th, NULL, drive, s), 0);
        get(server_port(s), "/healthz", buf, sizeof(buf));
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        /* Nothing is rendered until a client asks for a page. */
        assert_int_equal(renders, 0);
        server_note_tick(s, now_us(), 5000000);
        assert_int_equal(renders, 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                get(server_port(s), cases[i].path, buf, sizeof(buf));
                print_message("case %zu: %s\n", i, cases[i].path);
                assert_non_null(strstr(buf, cases[i].status_line));
                assert_non_null(strstr(buf, cases[i].fragment));
        }
        assert_int_equal(renders, 3);
        /* A tick that ended more than 3 intervals ago makes /healthz fail. */
        server_note_tick(s, now_us() - 400000, 100000);
        get(server_port(s), "/healthz", buf, sizeof(buf));
        assert_non_null(strstr(buf, "HTTP/1.1 503"));
        stop = true;
        pthread_join(th, NULL);
        server_stop(s);
}

static void test_bad_listen(void **state)
{
        static const char *const bad[] = {
                "",        "9782",       "localhost:9782", "127.0.0.1:", "127.0.0.1:70000",
                "[::1:80", "1.2.3.4:80x"
        };
        struct server *s = NULL;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(server_start(bad[i], render, NULL, &s), -EINVAL);
        assert_null(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_endpoints),
                cmocka_unit_test(test_bad_listen),
        };

        return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
