/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "haproxy.h"
#include "util.h"

/* A real HAProxy 2.6 dump, trimmed to the first columns that matter plus a few more. */
#define DUMP_HEADER                                                                             \
        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " \
        "srv_iweight srv_time_since_last_change\n"
#define DUMP                                                                                 \
        DUMP_HEADER "3 app 1 stable 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 19997 - 0 0 - - 0\n" \
                    "3 app 2 canary 127.0.0.1 0 1 1 1 0 1 0 0 0 0 0 0 - 19996 - 0 0 - - 0\n" \
                    "4 web 1 canary 127.0.0.1 2 8 1 1 0 1 0 0 0 0 0 0 - 19996 - 0 0 - - 0\n\n"

struct parse_case {
        const char *reply, *backend, *server;
        int r;
        unsigned admin, op;
};

static const struct parse_case parse_cases[] = {
        { DUMP, "app", "stable", 0, 0, 2 },
        { DUMP, "app", "canary", 0, 1, 0 },
        { DUMP, "web", "canary", 0, 8, 2 },
        { DUMP, "app", "nosuch", -ENOENT, 0, 0 },
        { DUMP_HEADER "\n", "app", "canary", -ENOENT, 0, 0 },
        { "Can't find backend.\n\n", "app", "canary", -EBADMSG, 0, 0 },
        { "", "app", "canary", -EBADMSG, 0, 0 },
        { "2\n3 app 2 canary 127.0.0.1 0 1\n", "app", "canary", -EBADMSG, 0, 0 },
        { "1\n3 app 2 canary 127.0.0.1 0\n", "app", "canary", -EBADMSG, 0, 0 },
        { "1\n3 app 2 canary 127.0.0.1 x 1\n", "app", "canary", -EBADMSG, 0, 0 },
};

static void test_parse_server_state(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(parse_cases); c++) {
                const struct parse_case *tc = &parse_cases[c];
                unsigned admin = 99, op = 99;
                int r = haproxy_parse_server_state(tc->reply, tc->backend, tc->server, &admin, &op);

                if (r != tc->r)
                        fail_msg("case %zu: %d, want %d", c, r, tc->r);
                if (r == 0) {
                        assert_int_equal(admin, tc->admin);
                        assert_int_equal(op, tc->op);
                } else {
                        assert_int_equal(admin, 99); /* untouched on failure */
                }
        }
}

struct name_case {
        unsigned admin;
        const char *name;
};

static const struct name_case name_cases[] = {
        { 0x00, "READY" }, { 0x01, "MAINT" }, { 0x02, "MAINT" },
        { 0x04, "MAINT" }, { 0x08, "DRAIN" }, { 0x10, "DRAIN" },
        { 0x20, "MAINT" }, { 0x09, "MAINT" }, { 0x40, "READY" },
};

static void test_admin_state_name(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(name_cases); c++)
                assert_string_equal(haproxy_admin_state_name(name_cases[c].admin),
                                    name_cases[c].name);
}

struct format_case {
        enum haproxy_state state;
        const char *server;
        const char *want; /* NULL: -EINVAL */
};

static const struct format_case format_cases[] = {
        { HAPROXY_STATE_MAINT, "app/canary", "set server app/canary state maint" },
        { HAPROXY_STATE_DRAIN, "order/canary-1", "set server order/canary-1 state drain" },
        { HAPROXY_STATE_WEIGHT0, "app/canary", "set weight app/canary 0" },
        { HAPROXY_STATE_MAINT, "app", NULL },
        { HAPROXY_STATE_MAINT, "app/", NULL },
        { HAPROXY_STATE_MAINT, "/canary", NULL },
        { HAPROXY_STATE_MAINT, "app/can ary", NULL },
        { HAPROXY_STATE_MAINT, "app/c;show info", NULL },
        { HAPROXY_STATE_MAINT, "app/c/d", NULL },
        { HAPROXY_STATE_MAINT, "app/c\n", NULL },
        { _HAPROXY_STATE_MAX, "app/canary", NULL },
};

static void test_format_command(void **ctx)
{
        char buf[HAPROXY_COMMAND_MAX + 1];

        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(format_cases); c++) {
                const struct format_case *tc = &format_cases[c];
                int n = haproxy_format_command(tc->state, tc->server, buf, sizeof(buf));

                if (!tc->want) {
                        assert_int_equal(n, -EINVAL);
                        continue;
                }
                assert_int_equal(n, (int)strlen(tc->want));
                assert_string_equal(buf, tc->want);
        }
        assert_int_equal(haproxy_format_command(HAPROXY_STATE_MAINT, "app/canary", buf, 10),
                         -ENOBUFS);
}

struct invalid_case {
        const char *socket, *address, *command;
};

static const struct invalid_case invalid_cases[] = {
        { NULL, NULL, "show info" },
        { "/tmp/x.sock", "127.0.0.1:1", "show info" },
        { "", NULL, "show info" },
        { NULL, "localhost:9999", "show info" },
        { NULL, "127.0.0.1", "show info" },
        { NULL, "127.0.0.1:0", "show info" },
        { NULL, "127.0.0.1:65536", "show info" },
        { NULL, "::1:80", "show info" },
        { NULL, "[::1]:x", "show info" },
        { "/tmp/x.sock", NULL, "" },
        { "/tmp/x.sock", NULL, "set server a/b state maint; show info" },
        { "/tmp/x.sock", NULL, "set server a/b state maint\nshow info" },
};

static void test_invalid(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(invalid_cases); c++) {
                const struct invalid_case *tc = &invalid_cases[c];
                struct haproxy_target t = { tc->socket, tc->address };
                struct haproxy_req *r = NULL;

                if (haproxy_req_start(&t, tc->command, HAPROXY_EXPECT_EMPTY, 1000, 0, &r) !=
                    -EINVAL)
                        fail_msg("case %zu was accepted", c);
                assert_null(r);
        }
}

/* A unix listener in a temp dir that the test drives by hand; it never accepts by itself. */
struct peer {
        char dir[64];
        char path[96];
        int fd;
};

static void peer_open(struct peer *p)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(p->dir, sizeof(p->dir), "/tmp/test-haproxy-XXXXXX");
        assert_non_null(mkdtemp(p->dir));
        snprintf(p->path, sizeof(p->path), "%s/admin.sock", p->dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
        p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(p->fd >= 0);
        assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(p->fd, 4), 0);
}

static void peer_close(struct peer *p)
{
        close(p->fd);
        unlink(p->path);
        rmdir(p->dir);
}

/* Polls r until it finishes; fails the test if that takes more than bound_ms. */
static enum haproxy_req_status drive(struct haproxy_req *r, int bound_ms)
{
        for (int spent = 0; haproxy_req_status(r) == HAPROXY_REQ_IN_PROGRESS; spent += 10) {
                struct pollfd p = { .fd = haproxy_req_fd(r), .events = haproxy_req_events(r) };
                int n = poll(&p, 1, 10);

                assert_true(spent <= bound_ms);
                assert_true(n >= 0);
                haproxy_req_on_ready(r, n > 0 ? p.revents : 0);
        }
        return haproxy_req_status(r);
}

struct reply_case {
        enum haproxy_expect expect;
        const char *reply;
        size_t repeat; /* the reply is sent this many times */
        int error;
        const char *reason;
        size_t reply_max;
};

static const struct reply_case reply_cases[] = {
        { HAPROXY_EXPECT_EMPTY, "\n", 1, 0, "" },
        { HAPROXY_EXPECT_EMPTY, "No such server.\n\n", 1, -EPROTO, "HAProxy: No such server." },
        { HAPROXY_EXPECT_EMPTY, "Require 'backend/server'.\n\n", 1, -EPROTO,
          "HAProxy: Require 'backend/server'." },
        { HAPROXY_EXPECT_EMPTY, "Unknown command, but maybe:\n  help\n\n", 1, -EPROTO,
          "HAProxy: Unknown command, but maybe:" },
        { HAPROXY_EXPECT_EMPTY, "", 1, -EPROTO, "without a reply" },
        { HAPROXY_EXPECT_ANY, DUMP, 1, 0, "" },
        { HAPROXY_EXPECT_ANY, "0123456789abcdef", 100, -EMSGSIZE, "longer than 1024 bytes", 1024 },
};

static void test_replies(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(reply_cases); c++) {
                const struct reply_case *tc = &reply_cases[c];
                struct peer p;
                struct haproxy_target t = { .socket = p.path };
                struct haproxy_req *r;
                char line[64] = { 0 };
                int conn;

                peer_open(&p);
                assert_int_equal(haproxy_req_start(&t, "set server app/canary state maint",
                                                   tc->expect, 5000, tc->reply_max, &r),
                                 0);
                assert_int_equal(haproxy_req_status(r), HAPROXY_REQ_IN_PROGRESS);
                assert_int_equal(haproxy_req_events(r), POLLOUT);
                assert_int_equal(haproxy_req_on_ready(r, POLLOUT), HAPROXY_REQ_IN_PROGRESS);
                assert_int_equal(haproxy_req_events(r), POLLIN);
                conn = accept4(p.fd, NULL, NULL, SOCK_CLOEXEC);
                assert_true(conn >= 0);
                assert_int_equal(read(conn, line, sizeof(line) - 1), 34);
                assert_string_equal(line, "set server app/canary state maint\n");
                for (size_t i = 0; i < tc->repeat; i++)
                        assert_int_equal(write(conn, tc->reply, strlen(tc->reply)),
                                         (ssize_t)strlen(tc->reply));
                close(conn);
                drive(r, 5000);
                assert_int_equal(haproxy_req_error(r), tc->error);
                assert_int_equal(haproxy_req_status(r),
                                 tc->error ? HAPROXY_REQ_FAILED : HAPROXY_REQ_OK);
                if (!strstr(haproxy_req_reason(r), tc->reason) ||
                    (!tc->reason[0] && haproxy_req_reason(r)[0]))
                        fail_msg("case %zu: reason \"%s\", want \"%s\"", c, haproxy_req_reason(r),
                                 tc->reason);
                if (tc->error == 0)
                        assert_string_equal(haproxy_req_reply(r, NULL), tc->reply);
                assert_int_equal(haproxy_req_fd(r), -1);
                haproxy_req_free(r);
                peer_close(&p);
        }
}

static void test_no_answer_times_out(void **ctx)
{
        struct peer p;
        struct haproxy_target t = { .socket = p.path };
        char reason[HAPROXY_REASON_MAX];

        (void)ctx;
        peer_open(&p);
        /* The kernel completes the connection from the backlog; nobody ever answers. */
        assert_int_equal(haproxy_command_sync(&t, "show info", HAPROXY_EXPECT_ANY, 200, NULL, 0,
                                              reason, sizeof(reason)),
                         -ETIMEDOUT);
        assert_non_null(strstr(reason, "did not reply within 200 ms"));
        peer_close(&p);
}

static void test_connect_failures(void **ctx)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
        socklen_t len = sizeof(sa);
        char address[64], reason[HAPROXY_REASON_MAX];
        struct haproxy_target unix_t = { .socket = "/nonexistent/oombreaker/admin.sock" };
        struct haproxy_target tcp_t = { .address = address };
        int fd;

        (void)ctx;
        /* A port that was just free: bind, learn it, close, so nothing listens there. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        close(fd);
        snprintf(address, sizeof(address), "127.0.0.1:%u", ntohs(sa.sin_port));
        assert_int_equal(haproxy_command_sync(&tcp_t, "show info", HAPROXY_EXPECT_ANY, 2000, NULL,
                                              0, reason, sizeof(reason)),
                         -ECONNREFUSED);
        assert_non_null(strstr(reason, "Connection refused"));
        assert_non_null(strstr(reason, address));
        assert_int_equal(haproxy_command_sync(&unix_t, "show info", HAPROXY_EXPECT_ANY, 2000, NULL,
                                              0, reason, sizeof(reason)),
                         -ENOENT);
        assert_non_null(strstr(reason, "No such file or directory"));
}

static void test_cancel(void **ctx)
{
        struct peer p;
        struct haproxy_target t = { .socket = p.path };
        struct haproxy_req *r;

        (void)ctx;
        peer_open(&p);
        assert_int_equal(haproxy_req_start(&t, "show info", HAPROXY_EXPECT_ANY, 60000, 0, &r), 0);
        assert_true(haproxy_req_fd(r) >= 0);
        assert_true(haproxy_req_timeout_ms(r) > 50000);
        haproxy_req_cancel(r);
        assert_int_equal(haproxy_req_status(r), HAPROXY_REQ_FAILED);
        assert_int_equal(haproxy_req_error(r), -ECANCELED);
        assert_int_equal(haproxy_req_fd(r), -1);
        assert_int_equal(haproxy_req_events(r), 0);
        assert_int_equal(haproxy_req_timeout_ms(r), 0);
        haproxy_req_free(r);
        peer_close(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_server_state),
                cmocka_unit_test(test_admin_state_name),
                cmocka_unit_test(test_format_command),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_replies),
                cmocka_unit_test(test_no_answer_times_out),
                cmocka_unit_test(test_connect_failures),
                cmocka_unit_test(test_cancel),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
