/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

static const struct template_vars vars = { .v = {
                                                   [TEMPLATE_VAR_BATCH] = "v1.0.1-a",
                                                   [TEMPLATE_VAR_IMAGE] = "reg/x:v2 \"rc\"",
                                                   [TEMPLATE_VAR_STABLE_IMAGE] = "reg/x:v1",
                                                   [TEMPLATE_VAR_TRAFFIC_PERCENT] = "5",
                                                   [TEMPLATE_VAR_TRIP_ID] = "t-1",
                                                   [TEMPLATE_VAR_ACTION] = "rollback",
                                                   [TEMPLATE_VAR_INSTANCE] = "a/b&c",
                                                   [TEMPLATE_VAR_RULE] = "line\nbreak",
                                                   [TEMPLATE_VAR_HOST] = NULL,
                                           } };

struct case_ {
        const char *in;
        enum template_escape esc;
        int r;
        const char *out;
};

static const struct case_ cases[] = {
        { "plain", TEMPLATE_ESCAPE_NONE, 0, "plain" },
        { "", TEMPLATE_ESCAPE_JSON, 0, "" },
        { "${batch}", TEMPLATE_ESCAPE_NONE, 0, "v1.0.1-a" },
        { "{\"i\":\"${image}\"}", TEMPLATE_ESCAPE_JSON, 0, "{\"i\":\"reg/x:v2 \\\"rc\\\"\"}" },
        { "${rule}", TEMPLATE_ESCAPE_JSON, 0, "line\\nbreak" },
        { "/r?i=${instance}", TEMPLATE_ESCAPE_URL, 0, "/r?i=a%2Fb%26c" },
        { "/r/${image}", TEMPLATE_ESCAPE_URL, 0, "/r/reg%2Fx%3Av2%20%22rc%22" },
        { "h=${host}.", TEMPLATE_ESCAPE_NONE, 0, "h=." },
        { "${batch}${action}${trip_id}", TEMPLATE_ESCAPE_NONE, 0, "v1.0.1-arollbackt-1" },
        { "${traffic_percent}%", TEMPLATE_ESCAPE_JSON, 0, "5%" },
        { "$batch {x}", TEMPLATE_ESCAPE_NONE, 0, "$batch {x}" },
        { "${nope}", TEMPLATE_ESCAPE_NONE, -EINVAL, NULL },
        { "${batch", TEMPLATE_ESCAPE_NONE, -EINVAL, NULL },
        { "X-R: ${rule}", TEMPLATE_ESCAPE_NONE, -EINVAL, NULL },
};

static void test_expand(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                int r = template_expand(cases[i].in, &vars, cases[i].esc, &out);

                print_message("case %zu: %s\n", i, cases[i].in);
                assert_int_equal(r, cases[i].r);
                if (r == 0)
                        assert_string_equal(out, cases[i].out);
                else
                        assert_null(out);
        }
}

static void test_validate(void **state)
{
        char bad[128];

        (void)state;
        assert_int_equal(template_validate("${batch} ${stable_image} ${host}", bad, sizeof(bad)),
                         0);
        assert_int_equal(template_validate("${imag}", bad, sizeof(bad)), -EINVAL);
        assert_non_null(strstr(bad, "${imag}"));
        assert_int_equal(template_validate("x ${", bad, sizeof(bad)), -EINVAL);
        assert_non_null(strstr(bad, "unterminated"));
}

static void test_cap(void **state)
{
        _cleanup_free_ char *big = malloc(70 * 1024);
        char *out = NULL;

        (void)state;
        memset(big, 'a', 70 * 1024 - 1);
        big[70 * 1024 - 1] = '\0';
        assert_int_equal(template_expand(big, &vars, TEMPLATE_ESCAPE_NONE, &out), -E2BIG);
        assert_null(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_cap),
        };

        return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
