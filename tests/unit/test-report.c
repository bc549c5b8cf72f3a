/* SPDX-License-Identifier: MIT */
/*
 * The persisted part of the status and the one trip renderer/parser: the release before
 * the one model rendered the .status.json files in tests/fixtures/state, byte for
 * byte; every form of a trip parses back to the same trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "trip-json.h"
#include "util.h"

static char *slurp(const char *name)
{
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");
        char path[4096], *buf = calloc(1, 65536);
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s/tests/fixtures/state/%s", src ? src : ".", name);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(buf);
        n = fread(buf, 1, 65535, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, "\n") == n - 1 ? n - 1 : n] = '\0'; /* one-line goldens lose their \n */
        return buf;
}

struct golden_case {
        const char *batch;
        const char *status;
};

static const struct golden_case golden_cases[] = {
        { "v1.0.1-a", "v1.0.1-a.status.json" }, /* tripped, one action resumed */
        { "v1.0.2-b", "v1.0.2-b.status.json" }, /* rolled_back */
};

static void test_status_golden(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(golden_cases); c++) {
                _cleanup_free_ char *file = NULL, *want = NULL, *got = NULL;
                char name[64];
                struct state *s;

                snprintf(name, sizeof(name), "%s.json", golden_cases[c].batch);
                file = slurp(name);
                want = slurp(golden_cases[c].status);
                assert_int_equal(
                        state_parse(file, strlen(file), golden_cases[c].batch, &s, NULL, 0), 0);
                assert_int_equal(report_state_format(s, &got), 0);
                assert_string_equal(got, want);
                state_free(s);
        }
}

static void test_status_armed(void **ctx)
{
        _cleanup_free_ char *got = NULL;
        struct state *s;

        (void)ctx;
        assert_int_equal(state_new("b1", &s), 0);
        assert_int_equal(report_state_format(s, &got), 0);
        assert_string_equal(got, "{\"batch\":\"b1\",\"phase\":\"armed\",\"trip_id\":null,"
                                 "\"trip\":null,\"actions\":[]}");
        state_free(s);
}

static const struct breaker_trip trip = {
        .id = "b1-20261123T021705Z-00aa",
        .time = "2026-11-23T02:17:05Z",
        .t_ms = 225000,
        .instance = "*",
        .rule = "heap-pressure",
        .consecutive = 3,
        .limit = 4,
        .n_conditions = 3,
        .conditions = { { COND_MEMORY_RATIO, true, 0.9375, 0.92 },
                        { COND_MEMORY_BYTES, true, 2080374784, 2000000000 },
                        { COND_GC_PER_MINUTE, false, 0, 15 } },
};

struct form_case {
        enum trip_json_form form;
        const char *want;  /* the exact text */
        bool keeps_record; /* id and time survive the round trip */
        bool keeps_t_ms;
};

static const struct form_case form_cases[] = {
        { TRIP_JSON_STATE,
          "{\"id\":\"b1-20261123T021705Z-00aa\",\"time\":\"2026-11-23T02:17:05Z\","
          "\"t_ms\":225000,\"reason\":{\"instance\":\"*\",\"rule\":\"heap-pressure\","
          "\"consecutive\":3,\"limit\":4,\"conditions\":[{\"metric\":\"memory_ratio\","
          "\"value\":0.9375,\"threshold\":0.92000000000000004},{\"metric\":\"memory_bytes\","
          "\"value\":2080374784.0,\"threshold\":2000000000.0},{\"metric\":\"gc_per_minute\","
          "\"value\":null,\"threshold\":15.0}]}}",
          true, true },
        { TRIP_JSON_STATUS,
          "{\"instance\":\"*\",\"rule\":\"heap-pressure\",\"consecutive\":3,\"limit\":4,"
          "\"conditions\":[{\"metric\":\"memory_ratio\",\"value\":0.9375,\"threshold\":0."
          "92000000000000004},{\"metric\":\"memory_bytes\",\"value\":2080374784,"
          "\"threshold\":2000000000},{\"metric\":\"gc_per_minute\",\"value\":null,"
          "\"threshold\":15}],\"t_ms\":225000,\"time\":\"2026-11-23T02:17:05Z\"}",
          false, true },
        { TRIP_JSON_REASON,
          "{\"instance\":\"*\",\"rule\":\"heap-pressure\",\"consecutive\":3,\"limit\":4,"
          "\"conditions\":[{\"metric\":\"memory_ratio\",\"value\":0.9375,\"threshold\":0."
          "92000000000000004},{\"metric\":\"memory_bytes\",\"value\":2080374784,"
          "\"threshold\":2000000000},{\"metric\":\"gc_per_minute\",\"value\":null,"
          "\"threshold\":15}]}",
          false, false },
        { TRIP_JSON_REPLAY,
          "{\"t_ms\":225000,\"instance\":\"*\",\"rule\":\"heap-pressure\",\"consecutive\":3,"
          "\"limit\":4,\"conditions\":[{\"metric\":\"memory_ratio\",\"value\":0.9375,"
          "\"threshold\":0.92000000000000004},{\"metric\":\"memory_bytes\",\"value\":2080374784,"
          "\"threshold\":2000000000},{\"metric\":\"gc_per_minute\",\"value\":null,"
          "\"threshold\":15}]}",
          false, true },
};

/* Each form renders exactly as documented and parses back to the same trip. */
static void test_forms_round_trip(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(form_cases); c++) {
                const struct form_case *fc = &form_cases[c];
                _cleanup_free_ char *text = NULL;
                struct breaker_trip back, want = trip;
                char why[128] = "";

                print_message("form %d\n", fc->form);
                assert_int_equal(trip_json_format(&trip, fc->form, &text), 0);
                assert_string_equal(text, fc->want);
                assert_int_equal(
                        trip_json_parse(text, strlen(text), fc->form, &back, why, sizeof(why)), 0);
                if (!fc->keeps_record)
                        memset(want.id, 0, sizeof(want.id));
                if (!fc->keeps_record && fc->form != TRIP_JSON_STATUS)
                        memset(want.time, 0, sizeof(want.time));
                if (!fc->keeps_t_ms)
                        want.t_ms = 0;
                assert_memory_equal(&back, &want, sizeof(want));
        }
}

struct bad_case {
        enum trip_json_form form;
        const char *text;
        const char *fragment;
};

static const struct bad_case bad_cases[] = {
        { TRIP_JSON_REASON, "[", "not JSON" },
        { TRIP_JSON_REASON,
          "{\"instance\":\"c\",\"rule\":\"r\",\"consecutive\":1,\"limit\":1,\"conditions\":"
          "[{\"metric\":\"bogus\",\"value\":1,\"threshold\":1}]}",
          "unknown metric" },
        { TRIP_JSON_REASON,
          "{\"instance\":\"c\",\"rule\":\"r\",\"consecutive\":-1,\"limit\":1,\"conditions\":[]}",
          "out of range" },
        { TRIP_JSON_REASON,
          "{\"instance\":\"c\",\"rule\":\"r\",\"consecutive\":1,\"limit\":1,\"conditions\":[],"
          "\"x\":1}",
          "trip reason" },
        { TRIP_JSON_STATE,
          "{\"id\":\"a b\",\"time\":\"2026-11-23T02:17:05Z\",\"t_ms\":1,\"reason\":{\"instance\":"
          "\"c\",\"rule\":\"r\",\"consecutive\":1,\"limit\":1,\"conditions\":[]}}",
          "invalid trip id" },
        { TRIP_JSON_STATE,
          "{\"id\":\"a\",\"time\":\"yesterday\",\"t_ms\":1,\"reason\":{\"instance\":\"c\","
          "\"rule\":\"r\",\"consecutive\":1,\"limit\":1,\"conditions\":[]}}",
          "invalid trip time" },
        { TRIP_JSON_REPLAY,
          "{\"t_ms\":-5,\"instance\":\"c\",\"rule\":\"r\",\"consecutive\":1,\"limit\":1,"
          "\"conditions\":[]}",
          "negative t_ms" },
};

static void test_parse_rejects(void **ctx)
{
        struct breaker_trip t;
        char why[256];

        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(bad_cases); c++) {
                why[0] = '\0';
                assert_int_equal(trip_json_parse(bad_cases[c].text, strlen(bad_cases[c].text),
                                                 bad_cases[c].form, &t, why, sizeof(why)),
                                 -EBADMSG);
                if (!strstr(why, bad_cases[c].fragment))
                        fail_msg("case %zu: \"%s\" lacks \"%s\"", c, why, bad_cases[c].fragment);
        }
        assert_int_equal(trip_json_parse("{}", 2, _TRIP_JSON_FORM_MAX, &t, why, sizeof(why)),
                         -EINVAL);
}

static void test_format_rejects(void **ctx)
{
        struct breaker_trip t = trip;
        char *text = NULL;

        (void)ctx;
        t.conditions[0].value = 1.0 / 0.0;
        assert_int_equal(trip_json_format(&t, TRIP_JSON_STATE, &text), -EINVAL);
        t = trip;
        t.conditions[1].metric = _COND_MAX;
        assert_int_equal(trip_json_format(&t, TRIP_JSON_REASON, &text), -EINVAL);
        assert_int_equal(trip_json_format(&trip, _TRIP_JSON_FORM_MAX, &text), -EINVAL);
        assert_null(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_golden),    cmocka_unit_test(test_status_armed),
                cmocka_unit_test(test_forms_round_trip), cmocka_unit_test(test_parse_rejects),
                cmocka_unit_test(test_format_rejects),
        };

        return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
