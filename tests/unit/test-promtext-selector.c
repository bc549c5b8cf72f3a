/* SPDX-License-Identifier: MIT */
/*
 * The exposition parser's selectors (a metric name and label matchers, and what is refused)
 * and the format a scrape's Content-Type picks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "promtext.h"
#include "util.h"

#define TEXT PROMTEXT_FORMAT_TEXT
#define OM   PROMTEXT_FORMAT_OPENMETRICS

struct selector_case {
        const char *s;
        int r;
        const char *name;
        size_t n_matchers;
        const char *last_value;
};

static const struct selector_case selector_cases[] = {
        { "go_gc_duration_seconds_count", 0, "go_gc_duration_seconds_count", 0, NULL },
        { "jvm_memory_bytes_used{area=\"heap\"}", 0, "jvm_memory_bytes_used", 1, "heap" },
        { "m{a=\"1\",b=\"x\\\"y\\\\z\\n\"}", 0, "m", 2, "x\"y\\z\n" },
        { "m{a=\"1\",}", 0, "m", 1, "1" },
        { "m{}", 0, "m", 0, NULL },
        { "ns:m{a=\"\"}", 0, "ns:m", 1, "" },
        { "", -EINVAL },
        { "1m", -EINVAL },
        { "m{", -EINVAL },
        { "m{a=x}", -EINVAL },
        { "m{a=\"x\"", -EINVAL },
        { "m{a=\"x\"}junk", -EINVAL },
        { "m{a=\"x\",a=\"y\"}", -EINVAL },
        { "m{a!=\"x\"}", -EINVAL },
        { "m{a=\"\\t\"}", -EINVAL },
        { "m {a=\"x\"}", -EINVAL },
        { "m{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",f=\"6\",g=\"7\",h=\"8\",i=\"9\"}", -EINVAL },
        { "m{1a=\"x\"}", -EINVAL },
};

static void test_selector_parse(void **state)
{
        char long_name[PROMTEXT_NAME_MAX + 2];
        struct promtext_selector sel;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(selector_cases); i++) {
                const struct selector_case *c = &selector_cases[i];

                print_message("selector %zu: %s\n", i, c->s);
                assert_int_equal(promtext_selector_parse(c->s, &sel), c->r);
                if (c->r < 0)
                        continue;
                assert_string_equal(sel.name, c->name);
                assert_int_equal(sel.n_matchers, c->n_matchers);
                assert_false(sel.skip_negative);
                if (c->last_value)
                        assert_string_equal(sel.matchers[sel.n_matchers - 1].value, c->last_value);
        }
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(promtext_selector_parse(long_name, &sel), -EINVAL);
        long_name[PROMTEXT_NAME_MAX] = '\0';
        assert_int_equal(promtext_selector_parse(long_name, &sel), 0);
}

static void test_content_type(void **state)
{
        static const struct {
                const char *ct;
                enum promtext_format f;
        } ct_cases[] = {
                { NULL, TEXT },
                { "text/plain; version=0.0.4; charset=utf-8", TEXT },
                { "application/openmetrics-text; version=1.0.0; charset=utf-8", OM },
                { "application/openmetrics-text", OM },
                { "Application/OpenMetrics-Text;version=1.0.0", OM },
                { "application/openmetrics-textual", TEXT },
                { "application/json", TEXT },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(ct_cases); i++)
                assert_int_equal(promtext_format_from_content_type(ct_cases[i].ct), ct_cases[i].f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_selector_parse),
                cmocka_unit_test(test_content_type),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
