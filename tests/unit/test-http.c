/* SPDX-License-Identifier: MIT */
/*
 * The HTTP engine against a real loopback peer: a libmicrohttpd daemon on a random port
 * (its own thread), a socket that listens but never answers, and a closed port. Requests
 * and their outcomes, what goes on the wire, and cancelling. Without a peer (options
 * refused, the loop's fds, body excerpts): test-http-local.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "unit-helpers.h"
#include "util.h"

static const unsigned char gzip_hello[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
                                            0x02, 0xff, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57,
                                            0x48, 0xaf, 0xca, 0x2c, 0xe0, 0x02, 0x00, 0x39,
                                            0x7c, 0x63, 0x56, 0x0b, 0x00, 0x00, 0x00 };

#define BIG_BYTES 5000

struct peer {
        struct MHD_Daemon *mhd;
        unsigned port;
        int hang_fd; /* listens, never accepts: connects succeed, nothing is ever answered */
        unsigned hang_port;
        unsigned closed_port; /* nothing listens there */
};

static struct peer peer;

static ssize_t chunked_big(void *cls, uint64_t pos, char *buf, size_t max)
{
        (void)cls;
        if (pos >= BIG_BYTES)
                return MHD_CONTENT_READER_END_OF_STREAM;
        if (max > BIG_BYTES - pos)
                max = BIG_BYTES - pos;
        memset(buf, 'x', max);
        return (ssize_t)max;
}

static enum MHD_Result add_echo_line(void *cls, enum MHD_ValueKind kind, const char *k,
                                     const char *v)
{
        char *echo = cls;
        size_t n = strlen(echo);

        (void)kind;
        snprintf(echo + n, 4096 - n, "%s: %s\n", k, v);
        return MHD_YES;
}

/* /echo answers with the method, the request headers and the request body. */
static struct MHD_Response *echo(struct MHD_Connection *c, const char *method, const char *data,
                                 size_t len)
{
        char echo[4096];

        snprintf(echo, sizeof(echo), "%s\n", method);
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_echo_line, echo);
        snprintf(echo + strlen(echo), sizeof(echo) - strlen(echo), "body=%.*s\n", (int)len, data);
        return MHD_create_response_from_buffer(strlen(echo), echo, MHD_RESPMEM_MUST_COPY);
}

static struct MHD_Response *route(struct MHD_Connection *c, const char *url, const char *method,
                                  const char *data, size_t len, unsigned *ret_status)
{
        static char big[BIG_BYTES];
        struct MHD_Response *resp;

        *ret_status = 200;
        if (strcmp(url, "/echo") == 0)
                return echo(c, method, data, len);
        if (strcmp(url, "/503") == 0) {
                *ret_status = 503;
                resp = MHD_create_response_from_buffer(4, "busy", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(resp, "Retry-After", "7");
                return resp;
        }
        if (strcmp(url, "/big") == 0) {
                memset(big, 'x', sizeof(big));
                return MHD_create_response_from_buffer(sizeof(big), big, MHD_RESPMEM_PERSISTENT);
        }
        if (strcmp(url, "/big-chunked") == 0)
                return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, chunked_big, NULL,
                                                         NULL);
        if (strcmp(url, "/gzip") == 0) {
                resp = MHD_create_response_from_buffer(sizeof(gzip_hello), (void *)gzip_hello,
                                                       MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(resp, "Content-Encoding", "gzip");
                return resp;
        }
        if (strcmp(url, "/redirect") == 0) {
                *ret_status = 302;
                resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(resp, "Location", "/ok");
                return resp;
        }
        resp = MHD_create_response_from_buffer(6, "hello\n", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
        return resp;
}

/* Collects the upload (for /echo), then answers through route(). */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
        char *acc = *con_cls;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        unsigned status;

        (void)cls, (void)version;
        if (!acc) {
                *con_cls = calloc(1, 4096);
                return *con_cls ? MHD_YES : MHD_NO;
        }
        if (*upload_size) {
                size_t n = strlen(acc);

                snprintf(acc + n, 4096 - n, "%.*s", (int)*upload_size, upload);
                *upload_size = 0;
                return MHD_YES;
        }
        resp = route(c, url, method, acc, strlen(acc), &status);
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        (void)cls, (void)c, (void)toe;
        free(*con_cls);
        *con_cls = NULL;
}

static int setup(void **state)
{
        const union MHD_DaemonInfo *info;
        int fd;

        (void)state;
        peer.mhd = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_SOCK_ADDR,
                (struct sockaddr *)&(struct sockaddr_in){
                        .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
                MHD_OPTION_END);
        if (!peer.mhd)
                return -1;
        info = MHD_get_daemon_info(peer.mhd, MHD_DAEMON_INFO_BIND_PORT);
        peer.port = info->port;
        peer.hang_fd = listen_loopback(&peer.hang_port);
        fd = listen_loopback(&peer.closed_port);
        close(fd);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        MHD_stop_daemon(peer.mhd);
        close(peer.hang_fd);
        return 0;
}

struct outcome {
        int calls;
        uint64_t id;
        struct http_response resp; /* body owned here */
};

static void on_done(uint64_t id, struct http_response *resp, void *userdata)
{
        struct outcome *o = userdata;

        o->calls++;
        o->id = id;
        o->resp = *resp;
        resp->body = NULL; /* take ownership */
}

/* Drives the engine until the request finished or 5 s passed. */
static void run_one(struct http *h, const struct http_request_opts *opts, struct outcome *o)
{
        int64_t deadline = mono_ms() + 5000;
        uint64_t id = 0;

        *o = (struct outcome){ 0 };
        assert_int_equal(http_submit(h, opts, on_done, o, &id), 0);
        assert_true(id > 0);
        while (o->calls == 0 && mono_ms() < deadline)
                assert_true(http_poll(h, NULL, 0, 100) >= 0);
        assert_int_equal(o->calls, 1);
        assert_true(o->id == id);
        assert_int_equal(http_pending(h), 0);
}

struct case_ {
        const char *name;
        const char *path; /* on the MHD peer; "HANG" and "CLOSED" pick the other sockets */
        const char *method;
        const char *body;
        size_t max_response_bytes;
        unsigned max_redirects;
        int error;
        long status;
        const char *body_fragment;   /* expected in the response body */
        const char *reason_fragment; /* expected in the reason */
        const char *content_type;
        uint64_t retry_after_s;
};

static const struct case_ cases[] = {
        { "ok", "/ok", NULL, NULL, 0, 0, 0, 200, "hello\n", NULL, "text/plain; version=0.0.4", 0 },
        { "5xx is exposed, not judged", "/503", NULL, NULL, 0, 0, 0, 503, "busy", NULL, NULL, 7 },
        { "capped, content-length known", "/big", NULL, NULL, 1000, 0, -EFBIG, 200, NULL,
          "response exceeds 1000 bytes", NULL, 0 },
        { "capped, chunked", "/big-chunked", NULL, NULL, 1000, 0, -EFBIG, 200, NULL,
          "response exceeds 1000 bytes", NULL, 0 },
        { "exactly at the cap", "/big", NULL, NULL, BIG_BYTES, 0, 0, 200, "xxxx", NULL, NULL, 0 },
        { "gzip is decoded", "/gzip", NULL, NULL, 0, 0, 0, 200, "hello gzip\n", NULL, NULL, 0 },
        { "no redirects by default", "/redirect", NULL, NULL, 0, 0, 0, 302, NULL, NULL, NULL, 0 },
        { "redirects when asked", "/redirect", NULL, NULL, 0, 2, 0, 200, "hello\n", NULL, NULL, 0 },
        { "POST with body and headers", "/echo", "POST", "{\"a\":1}", 0, 0, 0, 200,
          "body={\"a\":1}", NULL, NULL, 0 },
        { "PUT", "/echo", "PUT", "x", 0, 0, 0, 200, "PUT\n", NULL, NULL, 0 },
        { "hung peer times out", "HANG", NULL, NULL, 0, 0, -ETIMEDOUT, 0, NULL, "timed out", NULL,
          0 },
        { "refused", "CLOSED", NULL, NULL, 0, 0, -ECONNREFUSED, 0, NULL, "onnect", NULL, 0 },
};

static void check_case(struct http *h, const struct case_ *c)
{
        const char *headers[] = { "X-Team: orders" };
        char url[128];
        unsigned port = strcmp(c->path, "HANG") == 0     ? peer.hang_port
                        : strcmp(c->path, "CLOSED") == 0 ? peer.closed_port
                                                         : peer.port;
        struct http_request_opts o = { .method = c->method,
                                       .url = url,
                                       .headers = headers,
                                       .n_headers = 1,
                                       .accept = "text/plain",
                                       .body = c->body,
                                       .body_len = c->body ? strlen(c->body) : 0,
                                       .bearer_token = "s3cr3t",
                                       .timeout_ms = 300,
                                       .max_response_bytes = c->max_response_bytes,
                                       .max_redirects = c->max_redirects };
        struct outcome out;

        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port,
                 c->path[0] == '/' ? c->path : "/");
        print_message("case: %s\n", c->name);
        run_one(h, &o, &out);
        assert_int_equal(out.resp.error, c->error);
        assert_int_equal(out.resp.status, c->status);
        if (c->error == 0)
                assert_non_null(out.resp.body);
        else
                assert_null(out.resp.body);
        if (c->body_fragment)
                assert_non_null(strstr(out.resp.body, c->body_fragment));
        if (c->reason_fragment)
                assert_non_null(strstr(out.resp.reason, c->reason_fragment));
        if (c->error == 0)
                assert_string_equal(out.resp.reason, "");
        if (c->content_type)
                assert_string_equal(out.resp.content_type, c->content_type);
        assert_int_equal(out.resp.has_retry_after, c->retry_after_s > 0);
        assert_int_equal(out.resp.retry_after_s, c->retry_after_s);
        free(out.resp.body);
}

static void test_cases(void **state)
{
        struct http *h = NULL;

        (void)state;
        assert_int_equal(http_new(&h), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(h, &cases[i]);
        http_free(h);
}

/* The echo shows what went on the wire: Accept, the bearer token, caller headers, method. */
static void test_request_headers(void **state)
{
        char url[128];
        const char *headers[] = { "X-Team: orders", "Idempotency-Key: t1-rollback" };
        struct http_request_opts o = { .url = url,
                                       .headers = headers,
                                       .n_headers = 2,
                                       .accept = "application/openmetrics-text;version=1.0.0",
                                       .bearer_token = "s3cr3t",
                                       .timeout_ms = 2000 };
        struct http *h = NULL;
        struct outcome out;

        (void)state;
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", peer.port);
        assert_int_equal(http_new(&h), 0);
        run_one(h, &o, &out);
        assert_int_equal(out.resp.error, 0);
        assert_non_null(strstr(out.resp.body, "GET\n"));
        assert_non_null(strstr(out.resp.body, "Authorization: Bearer s3cr3t\n"));
        assert_non_null(strstr(out.resp.body, "X-Team: orders\n"));
        assert_non_null(strstr(out.resp.body, "Idempotency-Key: t1-rollback\n"));
        assert_non_null(
                strstr(out.resp.body, "Accept: application/openmetrics-text;version=1.0.0\n"));
        assert_non_null(strstr(out.resp.body, "Accept-Encoding: "));
        free(out.resp.body);
        http_free(h);
}

/* A cancelled request never calls back; a second cancel reports it is gone. */
static void test_cancel(void **state)
{
        char url[128];
        struct http_request_opts o = { .url = url, .timeout_ms = 60000 };
        struct outcome out = { 0 };
        struct http *h = NULL;
        uint64_t id;

        (void)state;
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", peer.hang_port);
        assert_int_equal(http_new(&h), 0);
        assert_int_equal(http_submit(h, &o, on_done, &out, &id), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(http_poll(h, NULL, 0, 20), 0);
        assert_int_equal(http_pending(h), 1);
        assert_int_equal(http_cancel(h, id), 0);
        assert_int_equal(http_pending(h), 0);
        assert_int_equal(http_cancel(h, id), -ENOENT);
        assert_int_equal(http_poll(h, NULL, 0, 20), 0);
        assert_int_equal(out.calls, 0);
        /* A pending request at http_free() is released without a callback (ASan checks leaks). */
        assert_int_equal(http_submit(h, &o, on_done, &out, &id), 0);
        assert_int_equal(http_poll(h, NULL, 0, 20), 0);
        http_free(h);
        assert_int_equal(out.calls, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_request_headers),
                cmocka_unit_test(test_cancel),
        };

        return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
