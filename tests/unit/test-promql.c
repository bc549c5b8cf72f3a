/* SPDX-License-Identifier: MIT */
/*
 * promql: the query URL, Prometheus' JSON answers (vector, scalar, its errors, a transfer
 * error, bodies that are not its JSON) and the one-sample rule of a promql target.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql.h"

struct judge_case {
        const char *name;
        int error;
        long status;
        const char *body;
        int r;
        size_t n;             /* series, when r == 0 */
        double value;         /* of the first series */
        int64_t t_ms;         /* of the first series */
        const char *instance; /* its instance label, or NULL */
        const char *fragment; /* of the reason, when r < 0 */
};

#define VEC(...)                                                                                   \
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" __VA_ARGS__ "]" \
        "}"                                                                                        \
        "}"
#define S1 \
        "{\"metric\":{\"instance\":\"n1:9\",\"state\":\"armed\"},\"value\":[1700000000.25,\"1\"]}"
#define S2 "{\"metric\":{\"instance\":\"n2:9\"},\"value\":[1700000000.25,\"NaN\"]}"

static const struct judge_case judge_cases[] = {
        { "one series", 0, 200, VEC(S1), 0, 1, 1, 1700000000250, "n1:9" },
        { "two series", 0, 200, VEC(S1 "," S2), 0, 2, 1, 1700000000250, "n1:9" },
        { "empty vector", 0, 200, VEC(), 0, 0 },
        { "scalar", 0, 200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[12.5,\"3.5\"]}}",
          0, 1, 3.5, 12500, NULL },
        { "big value", 0, 200, VEC("{\"metric\":{},\"value\":[1,\"1234567890123\"]}"), 0, 1,
          1234567890123.0, 1000, NULL },
        { "bad expression", 0, 400,
          "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error: x\"}",
          -EREMOTEIO, .fragment = "Prometheus says: parse error: x" },
        { "not found", 0, 404, "404 page not found", -EREMOTEIO, .fragment = "HTTP 404" },
        { "not json", 0, 200, "hello", -EBADMSG, .fragment = "not a Prometheus API answer" },
        { "matrix", 0, 200,
          "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", -EBADMSG,
          .fragment = "returned a matrix, not an instant vector" },
        { "bad value", 0, 200, VEC("{\"metric\":{},\"value\":[1,\"x\"]}"), -EBADMSG,
          .fragment = "malformed series (#1)" },
        { "many digits, negative, +Inf", 0, 200,
          VEC("{\"metric\":{},\"value\":[1,\"1764700799.4929187\"]},"
              "{\"metric\":{},\"value\":[1,\"+Inf\"]}"),
          0, 2, 1764700799.4929187, 1000, NULL },
        { "refused", -ECONNREFUSED, 0, NULL, -ECONNREFUSED, .fragment = "refused" },
};

static void test_judge(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]); i++) {
                const struct judge_case *c = &judge_cases[i];
                struct promql_result res = { 0 };
                char reason[PROMQL_REASON_MAX];
                int r = promql_judge(c->error, c->error ? "connection refused" : "", c->status,
                                     c->body, c->body ? strlen(c->body) : 0, &res, reason,
                                     sizeof(reason));

                print_message("%s\n", c->name);
                assert_int_equal(r, c->r);
                if (r < 0) {
                        assert_non_null(strstr(reason, c->fragment));
                        continue;
                }
                assert_int_equal(res.n, c->n);
                if (c->n) {
                        assert_true(res.v[0].value == c->value);
                        assert_int_equal(res.v[0].t_ms, c->t_ms);
                        if (c->instance)
                                assert_string_equal(promql_label(&res.v[0], "instance"),
                                                    c->instance);
                        else
                                assert_null(promql_label(&res.v[0], "instance"));
                }
                if (c->n == 2)
                        assert_true(isnan(res.v[1].value) || isinf(res.v[1].value));
                promql_result_clear(&res);
        }
}

static void test_url(void **state)
{
        char *url = NULL;

        (void)state;
        assert_int_equal(promql_query_url("http://p:9090/", "sum(x{a=\"b c\"})", &url), 0);
        assert_string_equal(url,
                            "http://p:9090/api/v1/query?query=sum%28x%7Ba%3D%22b%20c%22%7D%29");
        free(url);
        assert_int_equal(promql_query_url("", "up", &url), -EINVAL);
        assert_int_equal(promql_query_url("http://p", "", &url), -EINVAL);
}

static void test_single_bytes(void **state)
{
        struct promql_series two[2] = { { .value = 1 }, { .value = 2 } };
        struct promql_series nan = { .value = NAN }, ok = { .value = 1048576.0 };
        struct promql_result r = { two, 2 };
        char reason[PROMQL_REASON_MAX];
        uint64_t v = 0;

        (void)state;
        assert_int_equal(promql_single_bytes(&r, &v, reason, sizeof(reason)), -ENODATA);
        assert_string_equal(reason, "query returned 2 series; wrap it in sum()");
        r = (struct promql_result){ NULL, 0 };
        assert_int_equal(promql_single_bytes(&r, &v, reason, sizeof(reason)), -ENODATA);
        assert_string_equal(reason, "query returned no series");
        r = (struct promql_result){ &nan, 1 };
        assert_int_equal(promql_single_bytes(&r, &v, reason, sizeof(reason)), -ENODATA);
        r = (struct promql_result){ &ok, 1 };
        assert_int_equal(promql_single_bytes(&r, &v, reason, sizeof(reason)), 0);
        assert_int_equal(v, 1048576);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_judge),
                cmocka_unit_test(test_url),
                cmocka_unit_test(test_single_bytes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
