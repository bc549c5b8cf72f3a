/* SPDX-License-Identifier: MIT */
/*
 * TLS verification of the HTTP engine against a loopback libmicrohttpd HTTPS peer that
 * presents tests/fixtures/tls/server.crt: refused against the system store, accepted with
 * the certificate as ca_file, and a missing ca_file is an error, never a silent fallback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "http.h"
#include "util.h"

static struct MHD_Daemon *mhd;
static unsigned port;
static char cert_path[4096];

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
        (void)con_cls;
        resp = MHD_create_response_from_buffer(7, "secure\n", MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
}

static char *read_file(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        if (!f)
                return NULL;
        buf = calloc(1, 65536);
        if (!buf)
                return NULL;
        n = fread(buf, 1, 65535, f);
        buf[n] = 0;
        return buf;
}

static int setup(void **state)
{
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");
        _cleanup_free_ char *key = NULL, *crt = NULL;
        char key_path[4096];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

        (void)state;
        if (!src || !MHD_is_feature_supported(MHD_FEATURE_TLS))
                return 0; /* the tests skip */
        snprintf(cert_path, sizeof(cert_path), "%s/tests/fixtures/tls/server.crt", src);
        snprintf(key_path, sizeof(key_path), "%s/tests/fixtures/tls/server.key", src);
        crt = read_file(cert_path);
        key = read_file(key_path);
        if (!crt || !key)
                return -1;
        mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
                               handler, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
                               MHD_OPTION_HTTPS_MEM_CERT, crt, MHD_OPTION_SOCK_ADDR,
                               (struct sockaddr *)&a, MHD_OPTION_END);
        if (!mhd)
                return -1;
        port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        if (mhd)
                MHD_stop_daemon(mhd);
        return 0;
}

struct outcome {
        int calls;
        int error;
        long status;
        char reason[HTTP_REASON_MAX];
        char body[64];
};

static void on_done(uint64_t id, struct http_response *resp, void *userdata)
{
        struct outcome *o = userdata;

        (void)id;
        o->calls++;
        o->error = resp->error;
        o->status = resp->status;
        snprintf(o->reason, sizeof(o->reason), "%s", resp->reason);
        snprintf(o->body, sizeof(o->body), "%s", resp->body ? resp->body : "");
}

struct case_ {
        const char *name;
        const char *ca_file; /* "FIXTURE" = the server's certificate */
        int error;
        long status;
        const char *fragment; /* of the body (success) or the reason (failure) */
};

static const struct case_ cases[] = {
        { "self-signed is refused against the system store", NULL, -EPROTO, 0, "certificate" },
        { "accepted with its certificate as ca_file", "FIXTURE", 0, 200, "secure\n" },
        { "a missing ca_file is an error", "/nonexistent/ca.pem", -EPROTO, 0, "" },
};

static void test_tls(void **state)
{
        struct http *h = NULL;
        char url[64];

        (void)state;
        if (!mhd)
                skip();
        snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
        assert_int_equal(http_new(&h), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct case_ *c = &cases[i];
                struct http_request_opts o = {
                        .url = url,
                        .timeout_ms = 5000,
                        .ca_file = c->ca_file && strcmp(c->ca_file, "FIXTURE") == 0 ? cert_path
                                                                                    : c->ca_file,
                };
                struct outcome out = { 0 };
                uint64_t id;
                time_t deadline = time(NULL) + 10;

                print_message("case: %s\n", c->name);
                assert_int_equal(http_submit(h, &o, on_done, &out, &id), 0);
                while (out.calls == 0 && time(NULL) < deadline)
                        assert_true(http_poll(h, NULL, 0, 100) >= 0);
                assert_int_equal(out.calls, 1);
                print_message("  error %d status %ld reason \"%s\"\n", out.error, out.status,
                              out.reason);
                assert_int_equal(out.error, c->error);
                assert_int_equal(out.status, c->status);
                assert_non_null(strstr(c->error ? out.reason : out.body, c->fragment));
                if (c->error)
                        assert_true(out.reason[0] != 0);
        }
        http_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tls),
        };

        return cmocka_run_group_tests_name("http-tls", tests, setup, teardown);
}
