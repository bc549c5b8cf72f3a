/* SPDX-License-Identifier: MIT */
/*
 * OpenMetrics 1.0 strictness: bodies declared application/openmetrics-text must be judged by
 * the OpenMetrics rules, not only its syntax.
 *
 * The cases follow the parser tests of the Prometheus Python client (prometheus/client_python,
 * tests/openmetrics/test_parser.py: test_invalid_input for the invalid ones, the positive tests
 * for the valid ones), which themselves follow the OpenMetrics project's parser test suite.
 * Every invalid case must be rejected and every valid one accepted; python3-prometheus-client
 * agrees with this table (tests/tools/promtext-diff.py runs the differential side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "promtext.h"

static const char *const invalid_cases[] = {
        "",
        "a 1\n\n# EOF\n",
        "a 1\n# EOF\nblah",
        "a 1\n# EOFblah",
        "a{a=1} 1\n# EOF\n",
        "a{a=\"1} 1\n# EOF\n",
        "a{a='1'} 1\n# EOF\n",
        "a{a} 1\n# EOF\n",
        "a{a\"value\"} 1\n# EOF\n",
        "a{a\"\"} 1\n# EOF\n",
        "a{a=} 1\n# EOF\n",
        "a{a=\"} 1\n# EOF\n",
        "a{a=\"1\"b=\"2\"} 1\n# EOF\n",
        "a{a=\"1\",,b=\"2\"} 1\n# EOF\n",
        "a{a=\"1\",b=\"2\",} 1\n# EOF\n",
        "a{1=\"1\"} 1\n# EOF\n",
        "a{1=\"1\"}1\n# EOF\n",
        "a{a=\"1\",a=\"1\"} 1\n# EOF\n",
        "a{a=\"1\"b} 1\n# EOF\n",
        "a{1=\" # \"} 1\n# EOF\n",
        "a{a=\" # \",a=\" # \"} 1\n# EOF\n",
        "a{a=\" # \"}1\n# EOF\n",
        "a{a=\" # \",b=}1\n# EOF\n",
        "a{a=\" # \"b}1\n# EOF\n",
        "a\n# EOF\n",
        "a \n# EOF\n",
        "# HELP\n# EOF\n",
        "# HELP \n# EOF\n",
        "# HELP a\n# EOF\n",
        "# HELP a\t\n# EOF\n",
        " # HELP a meh\n# EOF\n",
        "# TYPE\n# EOF\n",
        "# TYPE \n# EOF\n",
        "# TYPE a\n# EOF\n",
        "# TYPE a\t\n# EOF\n",
        "# TYPE a meh\n# EOF\n",
        "# TYPE a meh \n# EOF\n",
        "# TYPE a gauge \n# EOF\n",
        "# TYPE a untyped\n# EOF\n",
        "# UNIT\n# EOF\n",
        "# UNIT \n# EOF\n",
        "# UNIT a\n# EOF\n",
        "# UNIT a\t\n# EOF\n",
        "# UNIT a seconds\n# EOF\n",
        "# UNIT a_seconds seconds \n# EOF\n",
        "# TYPE x_u info\n# UNIT x_u u\n# EOF\n",
        "# TYPE x_u stateset\n# UNIT x_u u\n# EOF\n",
        "# HELP a x\na 1\n# TYPE a gauge\n# EOF\n",
        "# TYPE a gauge\na 1\n# HELP a gauge\n# EOF\n",
        "# TYPE a_s gauge\na_s 1\n# UNIT a_s s\n# EOF\n",
        "# HELP a \n# HELP a \n# EOF\n",
        "# HELP a x\n# HELP a x\n# EOF\n",
        "# TYPE a untyped\n# TYPE a untyped\n# EOF\n",
        "# UNIT a_s s\n# UNIT a_s s\n# EOF\n",
        "# FOO a x\n# EOF\n",
        "0a 1\n# EOF\n",
        "a.b 1\n# EOF\n",
        "a-b 1\n# EOF\n",
        "a a\n# EOF\n",
        "a  1\n# EOF\n",
        "a 1\t\n# EOF\n",
        "a 1 \n# EOF\n",
        "a 1_2\n# EOF\n",
        "a 0x1p-3\n# EOF\n",
        "a 0x1P-3\n# EOF\n",
        "a 0b1\n# EOF\n",
        "a 0B1\n# EOF\n",
        "a 0x1\n# EOF\n",
        "a 0X1\n# EOF\n",
        "a 0o1\n# EOF\n",
        "a 0O1\n# EOF\n",
        "a 1 z\n# EOF\n",
        "a 1 1z\n# EOF\n",
        "a 1 1_2\n# EOF\n",
        "a 1 1.1.1\n# EOF\n",
        "a 1 NaN\n# EOF\n",
        "a 1 Inf\n# EOF\n",
        "a 1 +Inf\n# EOF\n",
        "a 1 -Inf\n# EOF\n",
        "a 1 0x1p-3\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 #\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1# {} 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 #{} 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {}1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 \n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 1 \n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # "
        "{a="
        "\"2345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789\"} 1 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 0x1p-3\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 0x1p-3\n# EOF\n",
        "# TYPE a counter\na_total 1 1 # {id=\"a\"}  \n# EOF\n",
        "# TYPE a counter\na_total 1 1 # id=\"a\"} 1\n# EOF\n",
        "# TYPE a counter\na_total 1 1 #id=\" # \"} 1\n# EOF\n",
        "# TYPE a counter\na_total 1 1 id=\" # \"} 1\n# EOF\n",
        "# TYPE a histogram\na_sum 1 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a gaugehistogram\na_sum 1 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a_bucket gauge\na_bucket 1 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a counter\na_created 1 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a gauge\na 1 # {a=\"b\"} 1\n# EOF\n",
        "# TYPE a info\na_info 1 # {a=\"b\"} 1\n# EOF\n",
        "# TYPE a stateset\na{a=\"b\"} 1 # {c=\"d\"} 1\n# EOF\n",
        "# TYPE a stateset\na 2\n# EOF\n",
        "# TYPE a info\na 2\n# EOF\n",
        "# TYPE a stateset\na 2.0\n# EOF\n",
        "# TYPE a info\na 2.0\n# EOF\n",
        "# TYPE a summary\na 0\n# EOF\n",
        "# TYPE a summary\na{quantile=\"-1\"} 0\n# EOF\n",
        "# TYPE a summary\na{quantile=\"foo\"} 0\n# EOF\n",
        "# TYPE a summary\na{quantile=\"1.01\"} 0\n# EOF\n",
        "# TYPE a summary\na{quantile=\"NaN\"} 0\n# EOF\n",
        "# TYPE a histogram\na_bucket 0\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket 0\n# EOF\n",
        "# TYPE a stateset\na 0\n# EOF\n",
        "# TYPE a counter\na_total NaN\n# EOF\n",
        "# TYPE a counter\na_total -1\n# EOF\n",
        "# TYPE a histogram\na_sum NaN\n# EOF\n",
        "# TYPE a histogram\na_count NaN\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} NaN\n# EOF\n",
        "# TYPE a histogram\na_sum -1\n# EOF\n",
        "# TYPE a histogram\na_count -1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} -1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_sum -1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_sum 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0.5\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0.5\na_count 0.5\na_sum 0\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} NaN\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} -1\na_gcount -1\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} -1\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum -1\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum NaN\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0.5\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0.5\na_gsum 0.5\na_gcount 0\n# EOF\n",
        "# TYPE a summary\na_sum NaN\n# EOF\n",
        "# TYPE a summary\na_count NaN\n# EOF\n",
        "# TYPE a summary\na_sum -1\n# EOF\n",
        "# TYPE a summary\na_count -1\n# EOF\n",
        "# TYPE a summary\na_count 0.5\n# EOF\n",
        "# TYPE a summary\na{quantile=\"0.5\"} -1\n# EOF\n",
        "# TYPE a info\na_info{foo=\"bar\"} 2\n# EOF\n",
        "# TYPE a stateset\na{a=\"bar\"} 2\n# EOF\n",
        "# TYPE a histogram\na_sum 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_sum 0\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count 0\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 0\na_sum 0\na_count 0\n# "
        "EOF\n",
        "# TYPE a gaugehistogram\na_gsum 1\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0\na_gsum 0\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0\na_gcount 0\n# EOF\n",
        "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum -1\na_gcount 1\n# EOF\n",
        "# TYPE a histogram\na_count 1\na_bucket{le=\"+Inf\"} 0\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count 1\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"+INF\"} 0\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"2\"} 0\na_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} "
        "0\n# EOF\n",
        "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"2\"} 1\na_bucket{le=\"+Inf\"} "
        "0\n# EOF\n",
        "# TYPE a histogram\na_sum{a=\"1\"} 0\na_sum{a=\"2\"} 0\na_count{a=\"1\"} 0\n# EOF\n",
        "# TYPE a histogram\na_bucket{a=\"1\",le=\"1\"} 0\na_bucket{a=\"2\",le=\"+Inf\"\"} "
        "0\na_bucket{a=\"1\",le=\"+Inf\"} 0\n# EOF\n",
        "# TYPE a gaugehistogram\na_gsum{a=\"1\"} 0\na_gsum{a=\"2\"} 0\na_gcount{a=\"1\"} 0\n# "
        "EOF\n",
        "# TYPE a summary\nquantile{quantile=\"0\"} 0\na_sum{a=\"1\"} 0\nquantile{quantile=\"1\"} "
        "0\n# EOF\n",
        "# TYPE a gauge\na 0 -1\na 0 -2\n# EOF\n",
        "# TYPE a gauge\na 0 -1\na 0 -1.1\n# EOF\n",
        "# TYPE a gauge\na 0 1\na 0 -1\n# EOF\n",
        "# TYPE a gauge\na 0 1.1\na 0 1\n# EOF\n",
        "# TYPE a gauge\na 0 1\na 0 0\n# EOF\n",
        "# TYPE a gauge\na 0\na 0 0\n# EOF\n",
        "# TYPE a gauge\na 0 0\na 0\n# EOF\n",
        "# TYPE a counter\n# TYPE a counter\n# EOF\n",
        "# TYPE a info\n# TYPE a counter\n# EOF\n",
        "# TYPE a_created gauge\n# TYPE a counter\n# EOF\n",
};

static const char *const valid_cases[] = {
        "# TYPE a counter\n# HELP a help\na_total 1\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total 9223372036854775808\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na 1\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na 1.2\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001.2e-1\n# "
        "EOF\n",
        "# TYPE a gauge\n# HELP a help\na NaN\n# EOF\n",
        "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds help\na_seconds 1\n# "
        "EOF\n",
        "# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\n# EOF\n",
        "# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\na{quantile=\"0.5\"} "
        "0.7\na{quantile=\"1\"} 0.8\n# EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} "
        "3\na_count 3\na_sum 2\n# EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0.0\na_bucket{le=\"+Inf\"} "
        "3.0\na_count 3.0\na_sum 2.0\n# EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"0\"} 0\na_bucket{le=\"0.00000000001\"} "
        "0\na_bucket{le=\"0.0000000001\"} 0\na_bucket{le=\"1e-04\"} 0\na_bucket{le=\"1.1e-4\"} "
        "0\na_bucket{le=\"1.1e-3\"} 0\na_bucket{le=\"1.1e-2\"} 0\na_bucket{le=\"1\"} "
        "0\na_bucket{le=\"1e+05\"} 0\na_bucket{le=\"10000000000\"} "
        "0\na_bucket{le=\"100000000000.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_count 3\na_sum 2\n# "
        "EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"-1.0\"} 0\na_bucket{le=\"1.0\"} "
        "1\na_bucket{le=\"+Inf\"} 3\n# EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0 # {a=\"b\"} "
        "0.5\na_bucket{le=\"2.0\"} 2 # {a=\"c\"} 0.5\na_bucket{le=\"+Inf\"} 3 # "
        "{a="
        "\"2345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        "012345678901234567890123456789012345678\"} 4 123\n# EOF\n",
        "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} "
        "3\na_gcount 3\na_gsum 2\n# EOF\n",
        "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"1.0\"} "
        "2\na_bucket{le=\"+Inf\"} 3\na_gcount 3\na_gsum -5\n# EOF\n",
        "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"1.0\"} 0 123 # {a=\"b\"} "
        "0.5\na_bucket{le=\"2.0\"} 2 123 # {a=\"c\"} 0.5\na_bucket{le=\"+Inf\"} 3 123 # {a=\"d\"} "
        "4 123\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total 0 123 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total{} 0 123 # {a=\"b\"} 0.5\n# EOF\n",
        "# TYPE a info\n# HELP a help\na_info{foo=\"bar\"} 1\n# EOF\n",
        "# TYPE a info\n# HELP a help\na_info{a=\"1\",foo=\"bar\"} 1 "
        "1\na_info{a=\"2\",foo=\"bar\"} 1 0\n# EOF\n",
        "# TYPE a stateset\n# HELP a help\na{a=\"bar\"} 0\na{a=\"foo\"} 1.0\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na{a=\"1\",foo=\"bar\"} 1 "
        "0.0000000000\na{a=\"1\",foo=\"bar\"} 2 0.0000000001\na{a=\"1\",foo=\"bar\"} 3 "
        "0.0000000010\na{a=\"2\",foo=\"bar\"} 4 0.0000000000\na{a=\"2\",foo=\"bar\"} 5 "
        "0.0000000001\n# EOF\n",
        "a 1\n# EOF\n",
        "# HELP a \n# UNIT a \n# EOF\n",
        "# HELP redis_connected_clients Redis connected clients\n# TYPE redis_connected_clients "
        "unknown\nredis_connected_clients{instance=\"rough-snowflake-web\",port=\"6380\"} "
        "10.0\nredis_connected_clients{instance=\"rough-snowflake-web\",port=\"6381\"} 12.0\n# "
        "EOF\n",
        "# HELP a help\n# TYPE a counter\na_total 1\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\",bar=\"b{a}z\"} 1\n# EOF\n",
        "# TYPE a counter\n# HELP a \na_total 1\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na{foo=\"bar\"} +Inf\na{foo=\"baz\"} -Inf\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total{} 1\n# EOF\n",
        "a NaN\n# EOF\n",
        "# TYPE a gauge\n# HELP a help\na 1\n# EOF",
        "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\"} 1\na_total{foo=\"\"} 2\n# EOF\n",
        "# TYPE a counter\n# HELP a he\\n\\\\l\\tp\na_total{foo=\"b\\\"a\\nr\"} "
        "1\na_total{foo=\"b\\\\a\\z\"} 2\na_total{foo=\"b\\\"a\\nr # \"} "
        "3\na_total{foo=\"b\\\\a\\z # \"} 4\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total{foo=\"1\"} 1 000\na_total{foo=\"2\"} 1 "
        "0.0\na_total{foo=\"3\"} 1 1.1\na_total{foo=\"4\"} 1 "
        "12345678901234567890.1234567890\na_total{foo=\"5\"} 1 1.5e3\n# TYPE b counter\n# HELP b "
        "help\nb_total 2 1234567890\n# EOF\n",
        "# TYPE a counter\n# HELP a help\na_total{foo=\"foo # bar\"} 1\na_total{foo=\"} foo # bar "
        "# \"} 1\n# EOF\n",
        "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\",foo=\"bar # \"} 0 # "
        "{a=\"b\",foo=\"bar # bar\"} 0.5\na_bucket{le=\"2.0\",foo=\"bar # \"} 2 # "
        "{a=\"c\",foo=\"bar # bar\"} 0.5\na_bucket{le=\"+Inf\",foo=\"bar # \"} 3 # "
        "{a=\"d\",foo=\"bar # bar\"} 4\n# EOF\n",
        "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n# TYPE "
        "go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0\"} "
        "0.013300656000000001\ngo_gc_duration_seconds{quantile=\"0.25\"} "
        "0.013638736\ngo_gc_duration_seconds{quantile=\"0.5\"} "
        "0.013759906\ngo_gc_duration_seconds{quantile=\"0.75\"} "
        "0.013962066\ngo_gc_duration_seconds{quantile=\"1\"} "
        "0.021383540000000003\ngo_gc_duration_seconds_sum "
        "56.12904785\ngo_gc_duration_seconds_count 7476.0\n# HELP go_goroutines Number of "
        "goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 166.0\n# HELP "
        "process_cpu_seconds Total user and system CPU time spent in seconds.\n# TYPE "
        "process_cpu_seconds counter\nprocess_cpu_seconds_total 29323.4\n# HELP "
        "prometheus_local_storage_chunk_ops The total number of chunk operations by their type.\n# "
        "TYPE prometheus_local_storage_chunk_ops "
        "counter\nprometheus_local_storage_chunk_ops_total{type=\"clone\"} "
        "28.0\nprometheus_local_storage_chunk_ops_total{type=\"create\"} 997844.0\n# EOF\n",
};

static int parse_om(const char *body, struct promtext_error *err)
{
        struct promtext_selector sel;
        struct promtext_result res;

        assert_int_equal(promtext_selector_parse("a_total", &sel), 0);
        return promtext_sum(body, strlen(body), PROMTEXT_FORMAT_OPENMETRICS, &sel, 1, &res, err);
}

static void test_invalid(void **state)
{
        size_t rejected = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
                struct promtext_error err = { 0 };

                if (parse_om(invalid_cases[i], &err) == -EBADMSG && err.reason[0])
                        rejected++;
                else
                        print_message("accepted invalid case %zu: %s\n", i, invalid_cases[i]);
        }
        print_message("OpenMetrics invalid cases rejected: %zu/%zu\n", rejected,
                      sizeof(invalid_cases) / sizeof(invalid_cases[0]));
        assert_int_equal(rejected, sizeof(invalid_cases) / sizeof(invalid_cases[0]));
}

static void test_valid(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
                struct promtext_error err = { 0 };
                int r = parse_om(valid_cases[i], &err);

                if (r != 0)
                        print_message("rejected valid case %zu (line %zu: %s): %s\n", i, err.line,
                                      err.reason, valid_cases[i]);
                assert_int_equal(r, 0);
        }
}

/* What OpenMetrics forbids, the 0.0.4 text format still allows, as Prometheus does. */
static void test_text_stays_lenient(void **state)
{
        static const char *const bodies[] = {
                "a{a=\"1\",b=\"2\",} 1\n",
                "# TYPE a counter\na -1\n",
                "# TYPE a histogram\na_bucket{le=\"2\"} 0\na_bucket{le=\"1\"} 0\n",
                "# TYPE a gauge\na 1\n# HELP a late\n",
        };
        struct promtext_selector sel;
        struct promtext_result res;
        struct promtext_error err;

        (void)state;
        assert_int_equal(promtext_selector_parse("a", &sel), 0);
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
                assert_int_equal(promtext_sum(bodies[i], strlen(bodies[i]), PROMTEXT_FORMAT_TEXT,
                                              &sel, 1, &res, &err),
                                 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_text_stays_lenient),
        };

        return cmocka_run_group_tests_name("promtext-om", tests, NULL, NULL);
}
