/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "actions.h"
#include "util.h"

struct backoff_case {
        unsigned failed;
        int64_t ms;
};

static void test_backoff(void **state)
{
        static const struct backoff_case cases[] = {
                { 1, 1000 },  { 2, 2000 },  { 3, 4000 },  { 4, 8000 },
                { 5, 16000 }, { 6, 30000 }, { 7, 30000 }, { 40, 30000 },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case %zu: %u failed attempts\n", i, cases[i].failed);
                assert_int_equal(actions_backoff_ms(cases[i].failed), cases[i].ms);
        }
}

static void test_envelope(void **state)
{
        struct policy p = { .name = "v1.0.1-a",
                            .image = "reg/o:v2",
                            .stable_image = "reg/o:v1",
                            .traffic_percent = 5 };
        struct state s = { .batch = "v1.0.1-a",
                           .phase = STATE_PHASE_TRIPPED,
                           .has_trip = true,
                           .trip_id = "t-1",
                           .trip_time = "2026-11-26T02:17:05Z" };
        _cleanup_free_ char *text = NULL;
        json_t *o, *c;

        (void)state;
        s.reason = (struct state_trip_reason){ .instance = "canary-1",
                                               .rule = "heap-pressure",
                                               .consecutive = 3,
                                               .limit = 3,
                                               .n_conditions = 1 };
        strcpy(s.reason.conditions[0].metric, "memory_ratio");
        s.reason.conditions[0].value = 0.95;
        s.reason.conditions[0].threshold = 0.92;
        assert_int_equal(actions_envelope(&p, &s, "rollback", "node-7", &text), 0);
        o = json_loads(text, 0, NULL);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "batch")), "v1.0.1-a");
        assert_string_equal(json_string_value(json_object_get(o, "phase")), "tripped");
        assert_string_equal(json_string_value(json_object_get(o, "action")), "rollback");
        assert_string_equal(json_string_value(json_object_get(o, "trip_id")), "t-1");
        assert_string_equal(json_string_value(json_object_get(o, "host")), "node-7");
        assert_string_equal(json_string_value(json_object_get(o, "stable_image")), "reg/o:v1");
        assert_int_equal(json_integer_value(json_object_get(o, "traffic_percent")), 5);
        assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                            "2026-11-26T02:17:05Z");
        c = json_array_get(json_object_get(json_object_get(o, "reason"), "conditions"), 0);
        assert_string_equal(json_string_value(json_object_get(c, "metric")), "memory_ratio");
        assert_true(json_number_value(json_object_get(c, "value")) == 0.95);
        assert_int_equal(
                json_integer_value(json_object_get(json_object_get(o, "reason"), "consecutive")),
                3);
        json_decref(o);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_envelope),
        };

        return cmocka_run_group_tests_name("actions", tests, NULL, NULL);
}
