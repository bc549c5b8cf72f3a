/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"
#include "util.h"

static void test_round_trip(void **state)
{
        struct sample s = { .t_ms = 5000 }, back;
        char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128], buf[TRACE_LINE_MAX];
        int n;

        (void)state;
        s.memory = (struct mem_sample){ .has_current = true,
                                        .current_bytes = 1932735283,
                                        .has_max = true,
                                        .max_bytes = 2147483648,
                                        .has_inactive_file = true,
                                        .inactive_file_bytes = 10485760,
                                        .has_oom_kill = true,
                                        .oom_kill = 2,
                                        .has_psi_some = true,
                                        .has_psi_full = true,
                                        .psi_some_avg10_pct = 3.1,
                                        .psi_full_avg10_pct = 0.4 };
        s.runtime = (struct runtime_sample){ .has_gc_count = true,
                                             .gc_count = 4812,
                                             .has_heap_used = true,
                                             .heap_used_bytes = 1610612736 };
        n = trace_format(buf, sizeof(buf), "v1.0.1-a", "canary-1", &s, NULL);
        assert_true(n > 0);
        assert_non_null(strstr(buf, "\"current\":1932735283"));
        assert_null(strstr(buf, "heap_max"));
        assert_int_equal(trace_parse(buf, (size_t)n, batch, inst, &back, err, sizeof(err)), 0);
        assert_string_equal(batch, "v1.0.1-a");
        assert_string_equal(inst, "canary-1");
        assert_int_equal(back.t_ms, 5000);
        assert_true(back.memory.has_current && back.memory.current_bytes == 1932735283);
        assert_true(back.memory.has_max && !back.memory.max_unlimited);
        assert_true(back.memory.has_psi_some && fabs(back.memory.psi_some_avg10_pct - 3.1) < 1e-9);
        assert_true(back.memory.has_psi_full && fabs(back.memory.psi_full_avg10_pct - 0.4) < 1e-9);
        assert_false(back.memory.has_anon);
        assert_true(back.runtime.has_gc_count && back.runtime.gc_count == 4812);
        assert_false(back.runtime.has_heap_max);
        assert_null(strstr(buf, "_error"));
}

/* Why a target had no data goes into the line; a replay reads the line as if it were not there. */
static void test_reasons(void **state)
{
        struct sample s = { .t_ms = 100 }, back;
        char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128], buf[TRACE_LINE_MAX];
        int n;

        (void)state;
        snprintf(s.runtime_error, sizeof(s.runtime_error),
                 "OpenMetrics: line 3: counter \"x_total\" is negative\xff\n");
        snprintf(s.memory_error, sizeof(s.memory_error), "memory.current: not a regular file");
        n = trace_format(buf, sizeof(buf), "b", "i", &s, NULL);
        assert_true(n > 0);
        assert_non_null(strstr(buf, "\"runtime_error\":\"OpenMetrics: line 3: counter "
                                    "\\\"x_total\\\" is negative??\""));
        assert_non_null(strstr(buf, "\"memory_error\":\"memory.current: not a regular file\""));
        assert_int_equal(trace_parse(buf, (size_t)n, batch, inst, &back, err, sizeof(err)), 0);
        assert_string_equal(back.runtime_error, "");
        assert_false(back.runtime.has_gc_count);
}

/* Every field, in the order the trace format has always written them. */
static void test_format_every_field(void **state)
{
        static const char want[] =
                "{\"t_ms\":7,\"batch\":\"b\",\"instance\":\"i\",\"memory\":{\"current\":100,"
                "\"max\":null,\"inactive_file\":10,\"anon\":50,\"oom_kill\":1,\"failcnt\":2,"
                "\"psi_some_avg10\":3.1,\"psi_full_avg10\":0.4,\"psi_some_total\":81312,"
                "\"psi_full_total\":19020},\"runtime\":{\"gc_count\":4812,\"heap_used\":1.5,"
                "\"heap_max\":2048}}";
        struct sample s = { .t_ms = 7 };
        char buf[TRACE_LINE_MAX];

        (void)state;
        s.memory = (struct mem_sample){ .has_current = true,
                                        .current_bytes = 100,
                                        .has_max = true,
                                        .max_unlimited = true,
                                        .has_inactive_file = true,
                                        .inactive_file_bytes = 10,
                                        .has_anon = true,
                                        .anon_bytes = 50,
                                        .has_oom_kill = true,
                                        .oom_kill = 1,
                                        .has_failcnt = true,
                                        .failcnt = 2,
                                        .has_psi_some = true,
                                        .psi_some_avg10_pct = 3.1,
                                        .psi_some_total_us = 81312,
                                        .has_psi_full = true,
                                        .psi_full_avg10_pct = 0.4,
                                        .psi_full_total_us = 19020 };
        s.runtime = (struct runtime_sample){ .has_gc_count = true,
                                             .gc_count = 4812,
                                             .has_heap_used = true,
                                             .heap_used_bytes = 1.5,
                                             .has_heap_max = true,
                                             .heap_max_bytes = 2048 };
        assert_int_equal(trace_format(buf, sizeof(buf), "b", "i", &s, NULL), (int)strlen(want));
        assert_string_equal(buf, want);
}

/* Each PSI figure stands alone: "some" without "full" is written, read back and kept. */
static void test_psi_some_alone(void **state)
{
        static const char line[] = "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":"
                                   "{\"psi_some_avg10\":12.5,\"psi_some_total\":99}}";
        char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128], buf[TRACE_LINE_MAX];
        struct sample s;

        (void)state;
        assert_int_equal(trace_parse(line, strlen(line), batch, inst, &s, err, sizeof(err)), 0);
        assert_true(s.memory.has_psi_some);
        assert_true(fabs(s.memory.psi_some_avg10_pct - 12.5) < 1e-9);
        assert_int_equal(s.memory.psi_some_total_us, 99);
        assert_false(s.memory.has_psi_full);
        assert_true(trace_format(buf, sizeof(buf), "b", "i", &s, NULL) > 0);
        assert_non_null(strstr(buf, "\"psi_some_avg10\":12.5,\"psi_some_total\":99"));
        assert_null(strstr(buf, "psi_full"));
}

/* An event tick is marked with the optional "event": true, read back; reals keep their form. */
static void test_event_and_reals(void **state)
{
        static const char line[] = "{\"t_ms\":7,\"batch\":\"b\",\"instance\":\"i\",\"memory\":"
                                   "{\"psi_some_avg10\":1.0e-7},\"event\":true}";
        char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128], buf[TRACE_LINE_MAX];
        struct sample s;

        (void)state;
        assert_int_equal(trace_parse(line, strlen(line), batch, inst, &s, err, sizeof(err)), 0);
        assert_true(s.event);
        assert_true(trace_format(buf, sizeof(buf), "b", "i", &s, NULL) > 0);
        assert_string_equal(buf, "{\"t_ms\":7,\"batch\":\"b\",\"instance\":\"i\",\"memory\":"
                                 "{\"psi_some_avg10\":1e-7,\"psi_some_total\":0},\"runtime\":{},"
                                 "\"event\":true}");
        s.event = false;
        assert_true(trace_format(buf, sizeof(buf), "b", "i", &s, NULL) > 0);
        assert_null(strstr(buf, "event"));
}

/* A total alone is not a figure: without its avg10 the line's PSI stays no-data. */
static void test_psi_total_alone(void **state)
{
        static const char line[] = "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":"
                                   "{\"psi_full_total\":5}}";
        char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128];
        struct sample s;

        (void)state;
        assert_int_equal(trace_parse(line, strlen(line), batch, inst, &s, err, sizeof(err)), 0);
        assert_false(s.memory.has_psi_full);
        assert_false(s.memory.has_psi_some);
}

struct case_ {
        const char *line;
        int r;
        const char *fragment; /* of the error, or a check name for successes */
};

static const struct case_ cases[] = {
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\"}", 0, NULL },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":{\"max\":null}}", 0,
          "unlimited" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":null}", 0, NULL },
        { "", -EINVAL, "not JSON" },
        { "[1]", -EINVAL, "not a JSON object" },
        { "{\"batch\":\"b\",\"instance\":\"i\"}", -EINVAL, "t_ms" },
        { "{\"t_ms\":-5,\"batch\":\"b\",\"instance\":\"i\"}", -EINVAL, "t_ms" },
        { "{\"t_ms\":1.5,\"batch\":\"b\",\"instance\":\"i\"}", -EINVAL, "t_ms" },
        { "{\"t_ms\":1,\"instance\":\"i\"}", -EINVAL, "batch" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"\"}", -EINVAL, "instance" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":3}", -EINVAL, "memory" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":{\"current\":\"x\"}}", -EINVAL,
          "current" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"memory\":{\"current\":-1}}", -EINVAL,
          "current" },
        { "{\"t_ms\":1,\"batch\":\"b\",\"instance\":\"i\",\"runtime\":{\"gc_count\":[]}}", -EINVAL,
          "gc_count" },
        { "{\"t_ms\":1,\"t_ms\":2,\"batch\":\"b\",\"instance\":\"i\"}", -EINVAL, "duplicate" },
};

static void test_parse_cases(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[128] = "";
                struct sample s;
                int r = trace_parse(cases[i].line, strlen(cases[i].line), batch, inst, &s, err,
                                    sizeof(err));

                print_message("case %zu: %s -> %d %s\n", i, cases[i].line, r, err);
                assert_int_equal(r, cases[i].r);
                if (r < 0)
                        assert_non_null(strstr(err, cases[i].fragment));
                else if (cases[i].fragment)
                        assert_true(s.memory.has_max && s.memory.max_unlimited);
        }
}

/* The forecast the rule saw: its state, the two lines and the time, after "runtime"; replay
 * reads the samples and ignores it. Warming up has no lines and no time. */
static void test_forecast_object(void **state)
{
        static const char want[] =
                "{\"t_ms\":12000,\"batch\":\"b\",\"instance\":\"i\",\"memory\":{},\"runtime\":{},"
                "\"forecast\":{\"state\":\"rising\",\"n\":13,\"limit\":1073741824,"
                "\"window\":{\"n\":13,\"t0_ms\":0,\"intercept\":524288000,\"slope\":1048576.5},"
                "\"recent\":{\"n\":4,\"t0_ms\":9000,\"intercept\":534000000,\"slope\":2097152},"
                "\"time_to_limit_ms\":255500}}";
        static const char warm[] = "{\"t_ms\":12000,\"batch\":\"b\",\"instance\":\"i\",\"memory\":"
                                   "{},\"runtime\":{},\"forecast\":{\"state\":\"warming up\","
                                   "\"n\":2,\"limit\":1073741824}}";
        struct forecast_view fv = {
                .state = FORECAST_RISING,
                .n = 13,
                .limit_bytes = 1073741824,
                .prediction = { .window = { 13, 0, 524288000, 1048576.5 },
                                .recent = { 4, 9000, 534000000, 2097152 },
                                .time_to_limit_ms = 255500 },
        };
        struct sample s = { .t_ms = 12000 }, back;
        char buf[TRACE_LINE_MAX], batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1], err[64];

        (void)state;
        assert_int_equal(trace_format(buf, sizeof(buf), "b", "i", &s, &fv), (int)strlen(want));
        assert_string_equal(buf, want);
        assert_int_equal(trace_parse(buf, strlen(buf), batch, inst, &back, err, sizeof(err)), 0);
        assert_int_equal(back.t_ms, 12000);
        fv = (struct forecast_view){ .state = FORECAST_WARMING_UP,
                                     .n = 2,
                                     .limit_bytes = 1073741824 };
        assert_int_equal(trace_format(buf, sizeof(buf), "b", "i", &s, &fv), (int)strlen(warm));
        assert_string_equal(buf, warm);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_parse_cases),
                cmocka_unit_test(test_format_every_field), cmocka_unit_test(test_psi_some_alone),
                cmocka_unit_test(test_psi_total_alone),    cmocka_unit_test(test_reasons),
                cmocka_unit_test(test_event_and_reals),    cmocka_unit_test(test_forecast_object),
        };

        return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
