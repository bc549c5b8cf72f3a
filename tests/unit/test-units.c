/* SPDX-License-Identifier: MIT */
/*
 * units: every parser over its accepted forms, its edges and its errors, one table row each;
 * the formatters, and that what they print parses back to the same value.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"
#include "util.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

struct uint_case {
        const char *in;
        int r;
        uint64_t want; /* when r == 0 */
};

struct double_case {
        const char *in;
        int r;
        double want;
};

static const struct uint_case size_cases[] = {
        { "0", 0, 0 },
        { "100", 0, 100 },
        { "100B", 0, 100 },
        { "1k", 0, KIB },
        { "1K", 0, KIB },
        { "1kb", 0, KIB },
        { "1KiB", 0, KIB },
        { "512MiB", 0, 512 * MIB },
        { "512mib", 0, 512 * MIB },
        { "2G", 0, 2 * GIB },
        { "2GB", 0, 2 * GIB },
        { "1.5 GiB", 0, GIB + GIB / 2 },
        { "1  GiB", 0, GIB },
        { "3T", 0, 3 * TIB },
        { "1tib", 0, TIB },
        { "1.5", 0, 2 },                 /* rounded to whole bytes */
        { "0.4", 0, 0 },                 /* rounded down */
        { "0000000000000000001", 0, 1 }, /* leading zeros are not significant */
        { "4194303TiB", 0, (UINT64_C(1) << 62) - TIB },
        { "4194304TiB", -ERANGE, 0 }, /* 2^62 bytes */
        { "99999999999999T", -ERANGE, 0 },
        { "", -EINVAL, 0 },
        { "GiB", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "+1", -EINVAL, 0 },
        { " 1", -EINVAL, 0 },
        { "1GiB ", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "1.GiB", -EINVAL, 0 },
        { ".5G", -EINVAL, 0 },
        { "1 PiB", -EINVAL, 0 },
        { "1 GiBs", -EINVAL, 0 },
        { "1,5G", -EINVAL, 0 },
        { "1234567890123456", -EINVAL, 0 }, /* 16 significant digits */
};

static const struct uint_case uint_cases[] = {
        { "0", 0, 0 },
        { "3", 0, 3 },
        { "007", 0, 7 },
        { "999999999999999", 0, UINT64_C(999999999999999) }, /* 15 digits, exact */
        { "1000000000000000", -EINVAL, 0 },
        { "1.0", -EINVAL, 0 },
        { "1.", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "", -EINVAL, 0 },
        { "3 ", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 },
};

static const struct uint_case duration_cases[] = {
        { "500ms", 0, 500 },
        { "0ms", 0, 0 },
        { "0", 0, 0 },
        { "7", 0, 7000 }, /* bare = seconds */
        { "5s", 0, 5000 },
        { "2m", 0, 120000 },
        { "1h", 0, 3600000 },
        { "90m", 0, 5400000 },
        { "2501999792h", 0, UINT64_C(2501999792) * 3600000 },
        { "2501999793h", -EINVAL, 0 }, /* 2^53 ms and more: not exact in a double */
        { "99999999999999999999", -EINVAL, 0 },
        { "1.5s", 0, 1500 },
        { "1.5", 0, 1500 },
        { "90s", 0, 90000 },
        { "2h", 0, 7200000 },
        { "1m30s", 0, 90000 },
        { "1h30m", 0, 5400000 },
        { "1h2m3s4ms", 0, 3723004 },
        { "1s500ms", 0, 1500 },
        { "0.5m", 0, 30000 },
        { "1min", -EINVAL, 0 },
        { "1msec", -EINVAL, 0 },
        { "1hr", -EINVAL, 0 },
        { "30s1m", -EINVAL, 0 }, /* largest unit first */
        { "1m1m", -EINVAL, 0 },  /* each unit once */
        { "1m 30s", -EINVAL, 0 },
        { "0.5ms", -EINVAL, 0 }, /* whole milliseconds only */
        { "1.0001s", -EINVAL, 0 },
        { "1e3s", -EINVAL, 0 },
        { "1,5s", -EINVAL, 0 },
        { "5 s", -EINVAL, 0 },
        { "5S", -EINVAL, 0 },
        { "5sec", -EINVAL, 0 },
        { "1d", -EINVAL, 0 },
        { "ms", -EINVAL, 0 },
        { "", -EINVAL, 0 },
        { "-5s", -EINVAL, 0 },
        { " 5s", -EINVAL, 0 },
};

static const struct double_case number_cases[] = {
        { "15", 0, 15 },
        { "2.5", 0, 2.5 },
        { "0", 0, 0 },
        { "0.000000000000000000001", 0, 1e-21 },
        { "123456789012345", 0, 123456789012345.0 },
        { "0.00000000000000000000001", -EINVAL, 0 }, /* 23 fraction digits */
        { "1.", -EINVAL, 0 },
        { ".5", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "+1", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "nan", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { "1 ", -EINVAL, 0 },
        { "", -EINVAL, 0 },
};

static const struct double_case ratio_cases[] = {
        { "0.92", 0, 0.92 },    { "92%", 0, 0.92 },     { "0", 0, 0 },          { "0%", 0, 0 },
        { "150%", 0, 1.5 }, /* no range check here: the policy keys check ranges */
        { "2", 0, 2 },          { "92 %", -EINVAL, 0 }, { "92%%", -EINVAL, 0 }, { "%", -EINVAL, 0 },
        { "0.9x", -EINVAL, 0 }, { "-0.1", -EINVAL, 0 }, { "", -EINVAL, 0 },
};

static const struct double_case percent_cases[] = {
        { "5", 0, 5 },         { "5%", 0, 5 },         { "12.5%", 0, 12.5 },
        { "0", 0, 0 },         { "100", 0, 100 },      { "5%%", -EINVAL, 0 },
        { "5 %", -EINVAL, 0 }, { "five", -EINVAL, 0 }, { "", -EINVAL, 0 },
};

static void check_uint_cases(const char *what, int (*parse)(const char *, uint64_t *),
                             const struct uint_case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t v = 0xdeadbeef;
                int r = parse(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].want))
                        fail_msg("%s(\"%s\") = %d, %llu; expected %d, %llu", what, cases[i].in, r,
                                 (unsigned long long)v, cases[i].r,
                                 (unsigned long long)cases[i].want);
                if (r < 0 && v != 0xdeadbeef)
                        fail_msg("%s(\"%s\") failed but wrote its result", what, cases[i].in);
        }
}

static void check_double_cases(const char *what, int (*parse)(const char *, double *),
                               const struct double_case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                double v = -42;
                int r = parse(cases[i].in, &v);

                /* The parsers are exact: the value must be the double nearest the decimal. */
                if (r != cases[i].r || (r == 0 && v != cases[i].want))
                        fail_msg("%s(\"%s\") = %d, %.17g; expected %d, %.17g", what, cases[i].in, r,
                                 v, cases[i].r, cases[i].want);
                if (r < 0 && v != -42)
                        fail_msg("%s(\"%s\") failed but wrote its result", what, cases[i].in);
        }
}

static void test_sizes(void **state)
{
        (void)state;
        check_uint_cases("units_parse_size", units_parse_size, size_cases, ELEMENTSOF(size_cases));
}

static void test_uints(void **state)
{
        (void)state;
        check_uint_cases("units_parse_uint", units_parse_uint, uint_cases, ELEMENTSOF(uint_cases));
}

static void test_durations(void **state)
{
        uint64_t v = 1;

        (void)state;
        check_uint_cases("units_parse_duration", units_parse_duration, duration_cases,
                         ELEMENTSOF(duration_cases));
        assert_int_equal(units_parse_duration(NULL, &v), -EINVAL);
        assert_int_equal(v, 1);
}

static void test_numbers(void **state)
{
        (void)state;
        check_double_cases("units_parse_number", units_parse_number, number_cases,
                           ELEMENTSOF(number_cases));
}

static void test_ratios(void **state)
{
        (void)state;
        check_double_cases("units_parse_ratio", units_parse_ratio, ratio_cases,
                           ELEMENTSOF(ratio_cases));
}

static void test_percents(void **state)
{
        (void)state;
        check_double_cases("units_parse_percent", units_parse_percent, percent_cases,
                           ELEMENTSOF(percent_cases));
}

static void test_bools(void **state)
{
        static const struct {
                const char *in;
                int r;
                bool want;
        } cases[] = {
                { "true", 0, true },         { "yes", 0, true },
                { "on", 0, true },           { "1", 0, true },
                { "false", 0, false },       { "no", 0, false },
                { "off", 0, false },         { "0", 0, false },
                { "TRUE", -EINVAL, false },  { "Yes", -EINVAL, false },
                { "2", -EINVAL, false },     { "", -EINVAL, false },
                { "true ", -EINVAL, false },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool v = !cases[i].want;
                int r = units_parse_bool(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].want))
                        fail_msg("units_parse_bool(\"%s\") = %d, %d", cases[i].in, r, v);
        }
}

static void test_format_duration(void **state)
{
        static const struct {
                uint64_t ms;
                const char *want;
        } cases[] = {
                { 0, "0s" },           { 1, "1ms" },         { 500, "500ms" },
                { 1000, "1s" },        { 1500, "1.5s" },     { 1050, "1.05s" },
                { 1001, "1.001s" },    { 59000, "59s" },     { 60000, "1m" },
                { 90000, "1m30s" },    { 90500, "1m30.5s" }, { 3600000, "1h" },
                { 5400000, "1h30m" },  { 86400000, "24h" },  { 3601000, "1h1s" },
                { 7200500, "2h0.5s" },
        };
        char buf[32];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                units_format_duration(cases[i].ms, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        /* Truncated, never overrun: */
        units_format_duration(5400000, buf, 3);
        assert_string_equal(buf, "1h");
}

static void test_format_size_approx(void **state)
{
        static const struct {
                uint64_t bytes;
                const char *want;
        } cases[] = {
                { 0, "0 B" },
                { 100, "100 B" },
                { 1023, "1023 B" },
                { KIB, "1 KiB" },
                { 1536, "1.5 KiB" },
                { 54013952, "51.5 MiB" },
                { 512 * MIB, "512 MiB" },
                { GIB, "1 GiB" },
                { GIB - 1, "1 GiB" },
                { 2 * GIB + GIB / 10, "2.1 GiB" },
                { TIB * 1024, "1 PiB" },
                { UINT64_MAX, "16 EiB" },
        };
        char buf[32];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                units_format_size_approx(cases[i].bytes, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
}

static void test_format_size(void **state)
{
        static const struct {
                uint64_t bytes;
                const char *want;
        } cases[] = {
                { 0, "0B" },
                { 100, "100B" },
                { 1023, "1023B" },
                { KIB, "1KiB" },
                { 1536, "1536B" },
                { 3 * KIB / 2 * KIB, "1536KiB" },
                { 512 * MIB, "512MiB" },
                { 2 * GIB, "2GiB" },
                { TIB, "1TiB" },
                { TIB * 1024, "1PiB" },
                { TIB * 1024 * 1024, "1024PiB" }, /* no unit above PiB */
        };
        char buf[32];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                units_format_size(cases[i].bytes, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        units_format_size(512 * MIB, buf, 4);
        assert_string_equal(buf, "512");
}

/* What the formatters print, the parsers read back as the same value. */
static void test_round_trips(void **state)
{
        static const uint64_t durations[] = {
                0, 1, 999, 1000, 1001, 60000, 61000, 3600000, 3660000, 7200000, UINT64_C(1) << 40
        };
        static const uint64_t sizes[] = { 0,
                                          1,
                                          1023,
                                          KIB,
                                          KIB + 1,
                                          MIB,
                                          3 * MIB,
                                          5 * GIB + MIB,
                                          7 * TIB,
                                          1023 * TIB,
                                          UINT64_C(999999999999999) };
        char buf[64];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                uint64_t back = 1234;

                units_format_duration(durations[i], buf, sizeof(buf));
                assert_int_equal(units_parse_duration(buf, &back), 0);
                assert_int_equal(back, durations[i]);
        }
        /* Sizes round-trip up to TiB; "PiB" is printed but not parsed. */
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                uint64_t back = 1234;

                units_format_size(sizes[i], buf, sizeof(buf));
                assert_int_equal(units_parse_size(buf, &back), 0);
                assert_int_equal(back, sizes[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_uints),
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_ratios),
                cmocka_unit_test(test_percents),
                cmocka_unit_test(test_bools),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_format_size),
                cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_format_size_approx),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
