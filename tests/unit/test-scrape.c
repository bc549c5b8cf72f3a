/* SPDX-License-Identifier: MIT */
/*
 * Presets and overrides → series, bodies → runtime samples, HTTP outcomes → no-data
 * reasons (all pure), plus the per-tick cancel rule against a listener that never answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "scrape.h"
#include "util.h"

/* ---- preset → series ---- */

struct spec_case {
        enum gc_preset preset;
        enum scrape_figure fig;
        const char *alt0, *alt1; /* names; NULL = none */
        const char *matcher;     /* "name=value" of alt0's first matcher, or NULL */
        bool skip_negative, int64_max_is_unset;
};

static const struct spec_case spec_cases[] = {
        { GC_PRESET_GO, SCRAPE_GC_COUNT, "go_gc_duration_seconds_count", NULL, NULL, false, false },
        { GC_PRESET_GO, SCRAPE_HEAP_USED, "go_memstats_heap_inuse_bytes", NULL, NULL, false,
          false },
        { GC_PRESET_GO, SCRAPE_HEAP_MAX, "go_gc_gomemlimit_bytes", NULL, NULL, false, true },
        { GC_PRESET_JVM, SCRAPE_GC_COUNT, "jvm_gc_collection_seconds_count",
          "jvm_gc_pause_seconds_count", NULL, false, false },
        { GC_PRESET_JVM, SCRAPE_HEAP_USED, "jvm_memory_bytes_used", "jvm_memory_used_bytes",
          "area=heap", false, false },
        { GC_PRESET_JVM, SCRAPE_HEAP_MAX, "jvm_memory_bytes_max", "jvm_memory_max_bytes",
          "area=heap", true, false },
        { GC_PRESET_DOTNET, SCRAPE_GC_COUNT, "dotnet_collection_count_total", NULL, "generation=0",
          false, false },
        { GC_PRESET_DOTNET, SCRAPE_HEAP_USED, "dotnet_total_memory_bytes", NULL, NULL, false,
          false },
        { GC_PRESET_DOTNET, SCRAPE_HEAP_MAX, NULL, NULL, NULL, false, false },
        { GC_PRESET_NODEJS, SCRAPE_GC_COUNT, "nodejs_gc_duration_seconds_count", NULL, NULL, false,
          false },
        { GC_PRESET_NODEJS, SCRAPE_HEAP_USED, "nodejs_heap_size_used_bytes", NULL, NULL, false,
          false },
        { GC_PRESET_NODEJS, SCRAPE_HEAP_MAX, NULL, NULL, NULL, false, false },
        { GC_PRESET_PYTHON, SCRAPE_GC_COUNT, "python_gc_collections_total", NULL, NULL, false,
          false },
        { GC_PRESET_PYTHON, SCRAPE_HEAP_USED, NULL, NULL, NULL, false, false },
        { GC_PRESET_PYTHON, SCRAPE_HEAP_MAX, NULL, NULL, NULL, false, false },
        { GC_PRESET_NONE, SCRAPE_GC_COUNT, NULL, NULL, NULL, false, false },
        { GC_PRESET_NONE, SCRAPE_HEAP_MAX, NULL, NULL, NULL, false, false },
};

static void check_spec_case(const struct spec_case *c)
{
        struct scrape_spec spec;
        const struct scrape_figure_spec *fs;
        char m[PROMTEXT_NAME_MAX + PROMTEXT_VALUE_MAX + 2];

        print_message("preset %d, %s\n", (int)c->preset, scrape_figure_to_string(c->fig));
        assert_int_equal(scrape_spec_build(c->preset, NULL, NULL, NULL, &spec), 0);
        fs = &spec.fig[c->fig];
        assert_int_equal(fs->n_alt, (c->alt0 != NULL) + (c->alt1 != NULL));
        assert_int_equal(fs->int64_max_is_unset, c->int64_max_is_unset);
        if (c->alt0) {
                assert_string_equal(fs->alt[0].name, c->alt0);
                assert_int_equal(fs->alt[0].skip_negative, c->skip_negative);
                assert_int_equal(fs->alt[0].n_matchers, c->matcher ? 1 : 0);
        }
        if (c->alt1) {
                assert_string_equal(fs->alt[1].name, c->alt1);
                assert_int_equal(fs->alt[1].skip_negative, c->skip_negative);
                assert_int_equal(fs->alt[1].n_matchers, c->matcher ? 1 : 0);
        }
        if (c->matcher) {
                snprintf(m, sizeof(m), "%s=%s", fs->alt[0].matchers[0].name,
                         fs->alt[0].matchers[0].value);
                assert_string_equal(m, c->matcher);
        }
}

static void test_presets(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(spec_cases); i++)
                check_spec_case(&spec_cases[i]);
        /* OpenMetrics first, then text 0.0.4, then anything (as Prometheus asks). */
        assert_string_equal(SCRAPE_ACCEPT, "application/openmetrics-text;version=1.0.0,"
                                           "application/openmetrics-text;version=0.0.1;q=0.75,"
                                           "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        assert_int_equal(SCRAPE_RESPONSE_MAX, 8 * 1024 * 1024);
}

struct override_case {
        enum gc_preset preset;
        const char *gc, *used, *max;
        int r;
        const char *gc_name; /* expected alt[0] of gc_count when r == 0 */
        size_t gc_alts;
};

static const struct override_case override_cases[] = {
        { GC_PRESET_JVM, "my_gc_total{pool=\"a\"}", NULL, NULL, 0, "my_gc_total", 1 },
        { GC_PRESET_JVM, NULL, "heap_b", NULL, 0, "jvm_gc_collection_seconds_count", 2 },
        { GC_PRESET_NONE, "gc_total", "used", "max", 0, "gc_total", 1 },
        { GC_PRESET_GO, "bad{", NULL, NULL, -EINVAL, NULL, 0 },
        { GC_PRESET_GO, NULL, "a{b=\"c\"", NULL, -EINVAL, NULL, 0 },
        { GC_PRESET_GO, NULL, NULL, "", -EINVAL, NULL, 0 },
        { _GC_PRESET_MAX, NULL, NULL, NULL, -EINVAL, NULL, 0 },
};

static void test_overrides(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(override_cases); i++) {
                const struct override_case *c = &override_cases[i];
                struct scrape_spec spec;

                print_message("override case %zu\n", i);
                assert_int_equal(scrape_spec_build(c->preset, c->gc, c->used, c->max, &spec), c->r);
                if (c->r < 0)
                        continue;
                assert_string_equal(spec.fig[SCRAPE_GC_COUNT].alt[0].name, c->gc_name);
                assert_int_equal(spec.fig[SCRAPE_GC_COUNT].n_alt, c->gc_alts);
                if (c->used)
                        assert_int_equal(spec.fig[SCRAPE_HEAP_USED].n_alt, 1);
        }
}

/* ---- body → runtime sample ---- */

#define T  PROMTEXT_FORMAT_TEXT
#define OM PROMTEXT_FORMAT_OPENMETRICS
#define NO (-1.0) /* figure expected absent */

struct derive_case {
        const char *name;
        enum gc_preset preset;
        const char *gc_override;
        enum promtext_format format;
        const char *body;
        int r;
        double gc, used, max; /* NO = has_* false */
        const char *reason;   /* fragment; NULL = reason must be empty */
};

static const struct derive_case derive_cases[] = {
        { "go, GOMEMLIMIT unset (MaxInt64)", GC_PRESET_GO, NULL, T,
          "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection "
          "cycles.\n"
          "# TYPE go_gc_duration_seconds summary\n"
          "go_gc_duration_seconds{quantile=\"0\"} 3.9274e-05\n"
          "go_gc_duration_seconds{quantile=\"1\"} 0.000406147\n"
          "go_gc_duration_seconds_sum 0.010087612\n"
          "go_gc_duration_seconds_count 58\n"
          "# TYPE go_gc_gomemlimit_bytes gauge\n"
          "go_gc_gomemlimit_bytes 9.223372036854776e+18\n"
          "# TYPE go_memstats_heap_inuse_bytes gauge\n"
          "go_memstats_heap_inuse_bytes 4.39296e+06\n",
          0, 58, 4392960, NO, NULL },
        { "go, GOMEMLIMIT=1GiB", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count 7\ngo_memstats_heap_inuse_bytes 1000\n"
          "go_gc_gomemlimit_bytes 1.073741824e+09\n",
          0, 7, 1000, 1073741824, NULL },
        { "go, Debian's client_golang 1.14 (no gomemlimit series)", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count 3\ngo_memstats_heap_inuse_bytes 2048\n", 0, 3, 2048, NO,
          "absent: heap_max (go_gc_gomemlimit_bytes)" },
        { "go, heap series missing", GC_PRESET_GO, NULL, T, "go_gc_duration_seconds_count 3\n", 0,
          3, NO, NO, "absent: heap_used (go_memstats_heap_inuse_bytes)" },
        { "jvm simpleclient_hotspot, summed over collectors", GC_PRESET_JVM, NULL, T,
          "# TYPE jvm_gc_collection_seconds summary\n"
          "jvm_gc_collection_seconds_count{gc=\"G1 Young Generation\",} 12.0\n"
          "jvm_gc_collection_seconds_sum{gc=\"G1 Young Generation\",} 0.1\n"
          "jvm_gc_collection_seconds_count{gc=\"G1 Old Generation\",} 1.0\n"
          "jvm_gc_collection_seconds_sum{gc=\"G1 Old Generation\",} 0.05\n"
          "# TYPE jvm_memory_bytes_used gauge\n"
          "jvm_memory_bytes_used{area=\"heap\",} 1.0E8\n"
          "jvm_memory_bytes_used{area=\"nonheap\",} 5.0E7\n"
          "# TYPE jvm_memory_bytes_max gauge\n"
          "jvm_memory_bytes_max{area=\"heap\",} 4.0E9\n"
          "jvm_memory_bytes_max{area=\"nonheap\",} -1.0\n",
          0, 13, 1e8, 4e9, NULL },
        { "jvm Micrometer, undefined pool maxima skipped", GC_PRESET_JVM, NULL, T,
          "# TYPE jvm_gc_pause_seconds summary\n"
          "jvm_gc_pause_seconds_count{action=\"end of minor GC\",cause=\"G1 Evacuation "
          "Pause\",gc=\"G1 Young Generation\",} 7.0\n"
          "jvm_gc_pause_seconds_sum{action=\"end of minor GC\",cause=\"G1 Evacuation "
          "Pause\",gc=\"G1 Young Generation\",} 0.05\n"
          "jvm_gc_pause_seconds_count{action=\"end of major GC\",cause=\"System.gc()\",gc=\"G1 "
          "Old Generation\",} 2.0\n"
          "# TYPE jvm_memory_used_bytes gauge\n"
          "jvm_memory_used_bytes{area=\"heap\",id=\"G1 Eden Space\",} 2.0E7\n"
          "jvm_memory_used_bytes{area=\"heap\",id=\"G1 Old Gen\",} 3.0E7\n"
          "jvm_memory_used_bytes{area=\"nonheap\",id=\"Metaspace\",} 4.0E7\n"
          "# TYPE jvm_memory_max_bytes gauge\n"
          "jvm_memory_max_bytes{area=\"heap\",id=\"G1 Eden Space\",} -1.0\n"
          "jvm_memory_max_bytes{area=\"heap\",id=\"G1 Old Gen\",} 2.147483648E9\n"
          "jvm_memory_max_bytes{area=\"heap\",id=\"G1 Survivor Space\",} -1.0\n",
          0, 9, 5e7, 2147483648.0, NULL },
        { "jvm, every heap maximum undefined", GC_PRESET_JVM, NULL, T,
          "jvm_gc_pause_seconds_count 1\njvm_memory_used_bytes{area=\"heap\"} 5\n"
          "jvm_memory_max_bytes{area=\"heap\",id=\"a\"} -1\n",
          0, 1, 5, NO, "absent: heap_max (jvm_memory_bytes_max or jvm_memory_max_bytes)" },
        { "dotnet: generation 0 alone counts every GC", GC_PRESET_DOTNET, NULL, T,
          "# TYPE dotnet_collection_count_total counter\n"
          "dotnet_collection_count_total{generation=\"0\"} 40\n"
          "dotnet_collection_count_total{generation=\"1\"} 10\n"
          "dotnet_collection_count_total{generation=\"2\"} 2\n"
          "# TYPE dotnet_total_memory_bytes gauge\n"
          "dotnet_total_memory_bytes 5000000\n",
          0, 40, 5e6, NO, NULL },
        { "nodejs, summed over kinds", GC_PRESET_NODEJS, NULL, T,
          "# TYPE nodejs_gc_duration_seconds histogram\n"
          "nodejs_gc_duration_seconds_bucket{le=\"0.001\",kind=\"minor\"} 5\n"
          "nodejs_gc_duration_seconds_bucket{le=\"+Inf\",kind=\"minor\"} 6\n"
          "nodejs_gc_duration_seconds_sum{kind=\"minor\"} 0.004\n"
          "nodejs_gc_duration_seconds_count{kind=\"minor\"} 6\n"
          "nodejs_gc_duration_seconds_bucket{le=\"+Inf\",kind=\"major\"} 2\n"
          "nodejs_gc_duration_seconds_sum{kind=\"major\"} 0.01\n"
          "nodejs_gc_duration_seconds_count{kind=\"major\"} 2\n"
          "# TYPE nodejs_heap_size_used_bytes gauge\n"
          "nodejs_heap_size_used_bytes 12345678\n",
          0, 8, 12345678, NO, NULL },
        { "python, OpenMetrics, summed over generations", GC_PRESET_PYTHON, NULL, OM,
          "# HELP python_gc_collections Number of times this generation was collected\n"
          "# TYPE python_gc_collections counter\n"
          "python_gc_collections_total{generation=\"0\"} 100.0\n"
          "python_gc_collections_total{generation=\"1\"} 9.0\n"
          "python_gc_collections_total{generation=\"2\"} 1.0\n"
          "# EOF\n",
          0, 110, NO, NO, NULL },
        { "override replaces the preset", GC_PRESET_GO, "my_gc_total{pool=\"a\"}", T,
          "my_gc_total{pool=\"a\"} 4\nmy_gc_total{pool=\"b\"} 100\ngo_gc_duration_seconds_count 9\n"
          "go_memstats_heap_inuse_bytes 1\n",
          0, 4, 1, NO, "absent: heap_max (go_gc_gomemlimit_bytes)" },
        { "NaN is no-data, not a figure", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count NaN\ngo_memstats_heap_inuse_bytes 1\n", 0, NO, 1, NO,
          "gc_count is NaN" },
        { "negative counter is no-data", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count -3\ngo_memstats_heap_inuse_bytes 1\n", 0, NO, 1, NO,
          "gc_count is negative" },
        { "+Inf is no-data", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count 1\ngo_memstats_heap_inuse_bytes +Inf\n", 0, 1, NO, NO,
          "heap_used is infinite" },
        { "malformed body is no-data with the line", GC_PRESET_GO, NULL, T,
          "go_gc_duration_seconds_count 1\ngo_memstats_heap_inuse_bytes{a=\"b\" 1\n", -EBADMSG, NO,
          NO, NO, "malformed exposition, line 2: " },
        { "garbage is no-data, never zero", GC_PRESET_GO, NULL, T, "<html>oops</html>\n", -EBADMSG,
          NO, NO, NO, "malformed exposition, line 1: " },
        { "empty text body: every figure absent", GC_PRESET_GO, NULL, T, "", 0, NO, NO, NO,
          "absent: gc_count" },
        { "OpenMetrics without # EOF is malformed", GC_PRESET_PYTHON, NULL, OM,
          "python_gc_collections_total{generation=\"0\"} 1\n", -EBADMSG, NO, NO, NO,
          "malformed exposition" },
        { "preset none reads nothing", GC_PRESET_NONE, NULL, T, "go_gc_duration_seconds_count 1\n",
          0, NO, NO, NO, NULL },
};

static void check_figure(bool has, double v, double want)
{
        if (want == NO) {
                assert_false(has);
                return;
        }
        assert_true(has);
        assert_true(fabs(v - want) <= 1e-9 * fabs(want));
}

static void check_derive_case(const struct derive_case *c)
{
        struct scrape_spec spec;
        struct runtime_sample rs = { .has_gc_count = true, .gc_count = 12345 };
        char reason[SAMPLE_REASON_MAX];

        print_message("derive: %s\n", c->name);
        assert_int_equal(scrape_spec_build(c->preset, c->gc_override, NULL, NULL, &spec), 0);
        assert_int_equal(scrape_derive(&spec, c->body, strlen(c->body), c->format, reason,
                                       sizeof(reason), &rs),
                         c->r);
        if (c->reason)
                assert_non_null(strstr(reason, c->reason));
        else
                assert_string_equal(reason, "");
        if (c->r < 0) {
                /* Untouched on failure: the sentinel survives. */
                assert_true(rs.has_gc_count && rs.gc_count == 12345);
                return;
        }
        check_figure(rs.has_gc_count, rs.gc_count, c->gc);
        check_figure(rs.has_heap_used, rs.heap_used_bytes, c->used);
        check_figure(rs.has_heap_max, rs.heap_max_bytes, c->max);
}

static void test_derive(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(derive_cases); i++)
                check_derive_case(&derive_cases[i]);
}

/* ---- HTTP outcome → no-data reason ---- */

struct judge_case {
        int error;
        const char *reason_in;
        long status;
        const char *content_type;
        const char *body;
        int r;
        const char *reason;
        bool has_gc;
};

static const struct judge_case judge_cases[] = {
        { -ETIMEDOUT, "Operation timed out after 2000 milliseconds with 0 bytes received", 0, NULL,
          NULL, -ETIMEDOUT, "Operation timed out after 2000 milliseconds", false },
        { -EFBIG, "response exceeds 8388608 bytes", 200, NULL, NULL, -EFBIG,
          "response exceeds 8388608 bytes", false },
        { -ECONNREFUSED, "", 0, NULL, NULL, -ECONNREFUSED, "Connection refused", false },
        { 0, "", 500, "text/plain", "oops\nline2", -EREMOTEIO, "HTTP 500: oops?line2", false },
        { 0, "", 503, NULL, "", -EREMOTEIO, "HTTP 503", false },
        { 0, "", 404, NULL, "", -EREMOTEIO, "HTTP 404", false },
        { 0, "", 302, NULL, "", -EREMOTEIO, "HTTP 302", false },
        { 0, "", 200, "text/plain; version=0.0.4; charset=utf-8",
          "go_gc_duration_seconds_count 5\n", 0, "absent: heap_used", true },
        { 0, "", 200, "application/openmetrics-text; version=1.0.0; charset=utf-8",
          "go_gc_duration_seconds_count 5\n", -EBADMSG, "malformed exposition", false },
        { 0, "", 200, "application/openmetrics-text; version=1.0.0; charset=utf-8",
          "go_gc_duration_seconds_count 5\n# EOF\n", 0, "absent: heap_used", true },
};

static void test_judge(void **state)
{
        struct scrape_spec spec;

        (void)state;
        assert_int_equal(scrape_spec_build(GC_PRESET_GO, NULL, NULL, NULL, &spec), 0);
        for (size_t i = 0; i < ELEMENTSOF(judge_cases); i++) {
                const struct judge_case *c = &judge_cases[i];
                struct runtime_sample rs = { .has_gc_count = true };
                char reason[SAMPLE_REASON_MAX];

                print_message("judge case %zu\n", i);
                assert_int_equal(scrape_judge(&spec, c->error, c->reason_in, c->status,
                                              c->content_type, c->body,
                                              c->body ? strlen(c->body) : 0, reason, sizeof(reason),
                                              &rs),
                                 c->r);
                assert_non_null(strstr(reason, c->reason));
                assert_int_equal(rs.has_gc_count, c->has_gc);
                assert_false(rs.has_heap_used);
        }
}

/* ---- the next tick cancels a scrape still running ---- */

struct calls {
        int n;
        char reason[SAMPLE_REASON_MAX];
        struct runtime_sample rs;
};

static void on_scrape(struct scrape *sc, const struct runtime_sample *rs, const char *reason,
                      void *userdata)
{
        struct calls *c = userdata;

        (void)sc;
        c->n++;
        c->rs = *rs;
        snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static void test_cancel_at_next_tick(void **state)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char url[64];
        struct policy_target t = { .name = "t",
                                   .metrics_url = url,
                                   .metrics_timeout_ms = 60000,
                                   .gc_preset = GC_PRESET_GO };
        struct calls calls = { 0 };
        struct http *h = NULL;
        struct scrape *sc = NULL;

        (void)state;
        /* Listens but never accepts: the connect succeeds and no answer ever comes. */
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 8), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", ntohs(a.sin_port));

        assert_int_equal(http_new(&h), 0);
        assert_int_equal(scrape_new(h, &t, on_scrape, &calls, &sc), 0);
        assert_int_equal(scrape_start(sc), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(http_poll(h, NULL, 0, 20), 0);
        assert_true(scrape_running(sc));
        assert_int_equal(calls.n, 0);

        assert_int_equal(scrape_start(sc), 0); /* the next tick */
        assert_int_equal(calls.n, 1);
        assert_string_equal(calls.reason, SCRAPE_CANCELLED_REASON);
        assert_false(calls.rs.has_gc_count || calls.rs.has_heap_used || calls.rs.has_heap_max);
        assert_true(scrape_running(sc));
        assert_int_equal(http_pending(h), 1);

        sc = scrape_free(sc); /* cancels silently */
        assert_int_equal(http_pending(h), 0);
        assert_int_equal(calls.n, 1);
        http_free(h);
        close(fd);

        t.metrics_url = NULL;
        assert_int_equal(scrape_new(h, &t, on_scrape, &calls, &sc), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_presets),
                cmocka_unit_test(test_overrides),
                cmocka_unit_test(test_derive),
                cmocka_unit_test(test_judge),
                cmocka_unit_test(test_cancel_at_next_tick),
        };

        return cmocka_run_group_tests_name("scrape", tests, NULL, NULL);
}
