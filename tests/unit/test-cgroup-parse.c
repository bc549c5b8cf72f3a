/* SPDX-License-Identifier: MIT */
/* The cgroupfs parsers, on both versions' real formats and on malformed content. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cgroup.h"

#define LEN(s) (sizeof(s) - 1)

struct u64_case {
        const char *in;
        size_t len; /* 0: strlen(in) */
        int r;
        uint64_t want;
};

static void test_u64(void **state)
{
        static const struct u64_case cases[] = {
                { "0\n", 0, 0, 0 },
                { "1288490188\n", 0, 0, 1288490188 },
                { "1288490188", 0, 0, 1288490188 }, /* no newline: still one value */
                { "18446744073709551615\n", 0, 0, UINT64_MAX },
                { "18446744073709551616\n", 0, -ERANGE, 0 }, /* huge */
                { "99999999999999999999999\n", 0, -ERANGE, 0 },
                { "", 0, -EINVAL, 0 },     /* empty */
                { "\n", 0, -EINVAL, 0 },   /* empty line */
                { "-1\n", 0, -EINVAL, 0 }, /* negative */
                { "+1\n", 0, -EINVAL, 0 },
                { " 1\n", 0, -EINVAL, 0 },
                { "12 34\n", 0, -EINVAL, 0 },
                { "12\n\n", 0, -EINVAL, 0 },
                { "max\n", 0, -EINVAL, 0 }, /* a counter is never "max" */
                { "0x10\n", 0, -EINVAL, 0 },
                { "garbage", 0, -EINVAL, 0 },
                { "12\0"
                  "3\n",
                  4, -EINVAL, 0 }, /* embedded NUL */
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct u64_case *c = &cases[i];
                uint64_t v = 4242;
                int r = cgroup_parse_u64(c->in, c->len ? c->len : strlen(c->in), &v);

                if (r != c->r)
                        fail_msg("case %zu (%s): r=%d, want %d", i, c->in, r, c->r);
                assert_int_equal(v, c->r == 0 ? c->want : 4242); /* untouched on error */
        }
}

struct limit_case {
        const char *in;
        int r;
        bool unlimited;
        uint64_t bytes;
};

static void test_limit(void **state)
{
        static const struct limit_case cases[] = {
                { "max\n", 0, true, 0 }, /* v2 no limit */
                { "max", 0, true, 0 },
                { "2147483648\n", 0, false, 2147483648 }, /* v2 and v1 limits */
                { "9223372036854771712\n", 0, true, 0 },  /* v1 no limit (4 KiB pages) */
                { "9223372036854710272\n", 0, true, 0 },  /* v1 no limit (64 KiB pages) */
                { "4611686018427387903\n", 0, false, 4611686018427387903 }, /* just below */
                { "0\n", 0, false, 0 },
                { "maximum\n", -EINVAL, false, 0 },
                { "MAX\n", -EINVAL, false, 0 },
                { "-1\n", -EINVAL, false, 0 },
                { "", -EINVAL, false, 0 },
                { "18446744073709551616\n", -ERANGE, false, 0 },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct limit_case *c = &cases[i];
                bool unl = false;
                uint64_t b = 0;
                int r = cgroup_parse_limit(c->in, strlen(c->in), &unl, &b);

                if (r != c->r)
                        fail_msg("case %zu (%s): r=%d, want %d", i, c->in, r, c->r);
                if (r == 0) {
                        assert_int_equal(unl, c->unlimited);
                        assert_int_equal(b, c->bytes);
                }
        }
}

/* Real kernel output, with fields in a different order than the version's docs list them. */
static const char v2_stat[] = "anon 1073741824\n"
                              "file 209715200\n"
                              "kernel 3145728\n"
                              "shmem 0\n"
                              "file_mapped 31457280\n"
                              "inactive_anon 134217728\n"
                              "active_anon 939524096\n"
                              "inactive_file 104857600\n"
                              "active_file 104857600\n"
                              "unevictable 0\n"
                              "pgfault 2894311\n";
static const char v2_stat_reordered[] = "zswpin 0\n"
                                        "inactive_file 5\n"
                                        "new_field_from_2030 77\n"
                                        "anon 7\n";
static const char v1_stat[] = "cache 209715200\n"
                              "rss 1073741824\n"
                              "inactive_file 1\n"
                              "hierarchical_memory_limit 2147483648\n"
                              "total_cache 209715200\n"
                              "total_rss 1073741824\n"
                              "total_inactive_file 104857600\n"
                              "total_active_file 104857600\n";

struct stat_case {
        const char *name;
        enum cgroup_version v;
        const char *in;
        int r;
        bool has_inactive;
        uint64_t inactive;
        bool has_anon;
        uint64_t anon;
};

static void test_stat(void **state)
{
        static const struct stat_case cases[] = {
                { "v2", CGROUP_V2, v2_stat, 0, true, 104857600, true, 1073741824 },
                { "v2 reordered", CGROUP_V2, v2_stat_reordered, 0, true, 5, true, 7 },
                /* v1 must use the hierarchical total_*, never the local inactive_file */
                { "v1", CGROUP_V1, v1_stat, 0, true, 104857600, true, 1073741824 },
                { "v1 file read as v2", CGROUP_V2, v1_stat, 0, true, 1, false, 0 },
                { "empty", CGROUP_V2, "", 0, false, 0, false, 0 },
                { "missing keys", CGROUP_V2, "file 1\nshmem 2\n", 0, false, 0, false, 0 },
                { "prefix is not the key", CGROUP_V2, "inactive_file_x 1\nanonymous 2\n", 0, false,
                  0, false, 0 },
                { "truncated value", CGROUP_V2, "anon 12\ninactive_file ", -EINVAL },
                { "truncated key", CGROUP_V2, "anon 12\ninactive_fi", -EINVAL },
                { "garbage", CGROUP_V2,
                  "\x7f"
                  "ELF\x02\x01\x01",
                  -EINVAL },
                { "negative", CGROUP_V2, "anon -4096\n", -EINVAL },
                { "huge", CGROUP_V2, "anon 98446744073709551615\n", -ERANGE },
                { "max", CGROUP_V2, "anon max\n", -EINVAL },
                { "duplicate", CGROUP_V2, "anon 1\nanon 2\n", -EINVAL },
                { "tab separator", CGROUP_V1, "total_rss\t5\n", -EINVAL },
                { "bad unrelated value is ignored", CGROUP_V2, "foo bar\nanon 3\n", 0, false, 0,
                  true, 3 },
                /* parsing stops once both keys are found: later lines are not looked at */
                { "lines after both keys are not read", CGROUP_V2,
                  "anon 3\ninactive_file 4\n\x7f"
                  "ELF\nanon 5\n",
                  0, true, 4, true, 3 },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct stat_case *c = &cases[i];
                struct mem_sample m = { .has_current = true, .current_bytes = 9 };
                int r = cgroup_parse_stat(c->in, strlen(c->in), c->v, &m);

                if (r != c->r)
                        fail_msg("case %s: r=%d, want %d", c->name, r, c->r);
                assert_true(m.has_current && m.current_bytes == 9); /* other fields alone */
                if (r < 0) {
                        assert_false(m.has_inactive_file || m.has_anon);
                        continue;
                }
                assert_int_equal(m.has_inactive_file, c->has_inactive);
                assert_int_equal(m.inactive_file_bytes, c->inactive);
                assert_int_equal(m.has_anon, c->has_anon);
                assert_int_equal(m.anon_bytes, c->anon);
        }
}

struct oom_case {
        const char *name;
        const char *in;
        int r;
        uint64_t want;
};

static void test_oom_kill(void **state)
{
        static const struct oom_case cases[] = {
                { "v2 memory.events",
                  "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n", 0, 2 },
                { "v2 memory.events, 5.x (no oom_group_kill)",
                  "low 0\nhigh 0\nmax 0\noom 0\noom_kill 41\n", 0, 41 },
                { "v1 memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", 0, 7 },
                { "v1 before 4.13", "oom_kill_disable 0\nunder_oom 0\n", -ENODATA },
                { "oom_group_kill alone is not oom_kill", "oom_group_kill 5\n", -ENODATA },
                { "empty", "", -ENODATA },
                { "truncated", "low 0\nhigh 0\nmax 0\noom 0\noom_ki", -EINVAL },
                { "negative", "oom_kill -1\n", -EINVAL },
                { "huge", "oom_kill 18446744073709551616\n", -ERANGE },
                { "garbage", "%%%%\n", -EINVAL },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct oom_case *c = &cases[i];
                uint64_t v = 4242;
                int r = cgroup_parse_oom_kill(c->in, strlen(c->in), &v);

                if (r != c->r)
                        fail_msg("case %s: r=%d, want %d", c->name, r, c->r);
                assert_int_equal(v, r == 0 ? c->want : 4242);
        }
}

enum { SOME = 1, FULL = 2, BOTH = 3 };

struct psi_case {
        const char *name;
        const char *in;
        int r;
        unsigned has; /* SOME, FULL: the figures found */
        double some, full;
        uint64_t some_total, full_total;
};

static void test_psi(void **state)
{
        static const struct psi_case cases[] = {
                { "kernel format",
                  "some avg10=3.10 avg60=1.55 avg300=0.62 total=81312\n"
                  "full avg10=0.40 avg60=0.20 avg300=0.08 total=19020\n",
                  0, BOTH, 3.10, 0.40, 81312, 19020 },
                { "idle",
                  "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                  0, BOTH, 0, 0, 0, 0 },
                { "full first, 100%",
                  "full avg10=100.00 avg60=0.20 avg300=0.08 total=5\n"
                  "some avg10=100.00 avg60=1.55 avg300=0.62 total=18446744073709551615\n",
                  0, BOTH, 100, 100, UINT64_MAX, 5 },
                /* Each figure stands alone: a rule on psi_some needs only "some". */
                { "some only (cpu.pressure-like)",
                  "some avg10=3.10 avg60=1.55 avg300=0.62 total=81312\n", 0, SOME, 3.10, 0, 81312,
                  0 },
                { "full only", "full avg10=0.40 avg60=0.20 avg300=0.08 total=19020\n", 0, FULL, 0,
                  0.40, 0, 19020 },
                { "empty", "", -ENODATA },
                { "over 100%",
                  "some avg10=100.01 avg60=0 avg300=0 total=1\n"
                  "full avg10=0.00 avg60=0 avg300=0 total=1\n",
                  -ERANGE },
                { "negative",
                  "some avg10=-1.00 avg60=0 avg300=0 total=1\n"
                  "full avg10=0.00 avg60=0 avg300=0 total=1\n",
                  -EINVAL },
                { "comma decimal (a locale)",
                  "some avg10=3,10 avg60=0 avg300=0 total=1\n"
                  "full avg10=0.00 avg60=0 avg300=0 total=1\n",
                  -EINVAL },
                { "huge total",
                  "some avg10=1.00 avg60=0 avg300=0 total=18446744073709551616\n"
                  "full avg10=0.00 avg60=0 avg300=0 total=1\n",
                  -ERANGE },
                { "truncated", "some avg10=1.00 avg60=0 avg300=0 total=1\nfull avg10=0.0",
                  -EINVAL },
                { "missing total", "some avg10=1.00\nfull avg10=0.00 total=1\n", -EINVAL },
                { "duplicate", "some avg10=1.00 total=1\nsome avg10=1.00 total=1\n", -EINVAL },
                { "garbage", "pressure: high\n", -EINVAL },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct psi_case *c = &cases[i];
                struct mem_sample m = { 0 };
                int r = cgroup_parse_psi(c->in, strlen(c->in), &m);

                if (r != c->r)
                        fail_msg("case %s: r=%d, want %d", c->name, r, c->r);
                assert_int_equal(m.has_psi_some, r == 0 && (c->has & SOME));
                assert_int_equal(m.has_psi_full, r == 0 && (c->has & FULL));
                if (r < 0)
                        continue;
                assert_float_equal(m.psi_some_avg10_pct, c->some, 1e-9);
                assert_float_equal(m.psi_full_avg10_pct, c->full, 1e-9);
                assert_int_equal(m.psi_some_total_us, c->some_total);
                assert_int_equal(m.psi_full_total_us, c->full_total);
        }
}

/* Field by field: struct padding is not part of the contract. */
static bool mem_equal(const struct mem_sample *a, const struct mem_sample *b)
{
        return a->has_current == b->has_current && a->current_bytes == b->current_bytes &&
               a->has_max == b->has_max && a->max_unlimited == b->max_unlimited &&
               a->max_bytes == b->max_bytes && a->has_inactive_file == b->has_inactive_file &&
               a->inactive_file_bytes == b->inactive_file_bytes && a->has_anon == b->has_anon &&
               a->anon_bytes == b->anon_bytes && a->has_oom_kill == b->has_oom_kill &&
               a->oom_kill == b->oom_kill && a->has_failcnt == b->has_failcnt &&
               a->failcnt == b->failcnt && a->has_psi_some == b->has_psi_some &&
               a->has_psi_full == b->has_psi_full &&
               a->psi_some_avg10_pct == b->psi_some_avg10_pct &&
               a->psi_full_avg10_pct == b->psi_full_avg10_pct &&
               a->psi_some_total_us == b->psi_some_total_us &&
               a->psi_full_total_us == b->psi_full_total_us;
}

struct add_case {
        const char *name;
        struct mem_sample a, b, want;
};

static void test_sample_add(void **state)
{
        static const struct add_case cases[] = {
                { "sums counters and limits",
                  { .has_current = true,
                    .current_bytes = 10,
                    .has_max = true,
                    .max_bytes = 100,
                    .has_oom_kill = true,
                    .oom_kill = 1,
                    .has_inactive_file = true,
                    .inactive_file_bytes = 3 },
                  { .has_current = true,
                    .current_bytes = 20,
                    .has_max = true,
                    .max_bytes = 200,
                    .has_oom_kill = true,
                    .oom_kill = 2,
                    .has_inactive_file = true,
                    .inactive_file_bytes = 4 },
                  { .has_current = true,
                    .current_bytes = 30,
                    .has_max = true,
                    .max_bytes = 300,
                    .has_oom_kill = true,
                    .oom_kill = 3,
                    .has_inactive_file = true,
                    .inactive_file_bytes = 7 } },
                { "one unlimited makes the sum unlimited",
                  { .has_max = true, .max_bytes = 100 },
                  { .has_max = true, .max_unlimited = true },
                  { .has_max = true, .max_unlimited = true } },
                { "a figure one cgroup lacks is no-data",
                  { .has_current = true,
                    .current_bytes = 5,
                    .has_anon = true,
                    .anon_bytes = 1,
                    .has_failcnt = true,
                    .failcnt = 9 },
                  { .has_current = true, .current_bytes = 6, .has_failcnt = true, .failcnt = 1 },
                  { .has_current = true,
                    .current_bytes = 11,
                    .has_failcnt = true,
                    .failcnt = 10 } },
                { "PSI: worst average, summed totals",
                  { .has_psi_some = true,
                    .has_psi_full = true,
                    .psi_some_avg10_pct = 3.5,
                    .psi_full_avg10_pct = 0.1,
                    .psi_some_total_us = 100,
                    .psi_full_total_us = 10 },
                  { .has_psi_some = true,
                    .has_psi_full = true,
                    .psi_some_avg10_pct = 1.0,
                    .psi_full_avg10_pct = 0.4,
                    .psi_some_total_us = 50,
                    .psi_full_total_us = 5 },
                  { .has_psi_some = true,
                    .has_psi_full = true,
                    .psi_some_avg10_pct = 3.5,
                    .psi_full_avg10_pct = 0.4,
                    .psi_some_total_us = 150,
                    .psi_full_total_us = 15 } },
                { "PSI missing on one side",
                  { .has_psi_some = true, .psi_some_avg10_pct = 3.5 },
                  { 0 },
                  { 0 } },
                { "PSI: some on both, full on one: some stays, full is no-data",
                  { .has_psi_some = true,
                    .has_psi_full = true,
                    .psi_some_avg10_pct = 2.0,
                    .psi_full_avg10_pct = 1.0,
                    .psi_some_total_us = 7,
                    .psi_full_total_us = 3 },
                  { .has_psi_some = true, .psi_some_avg10_pct = 4.0, .psi_some_total_us = 1 },
                  { .has_psi_some = true, .psi_some_avg10_pct = 4.0, .psi_some_total_us = 8 } },
                { "saturates instead of wrapping",
                  { .has_current = true, .current_bytes = UINT64_MAX - 1 },
                  { .has_current = true, .current_bytes = 5 },
                  { .has_current = true, .current_bytes = UINT64_MAX } },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct mem_sample acc = cases[i].a;

                cgroup_sample_add(&acc, &cases[i].b);
                if (!mem_equal(&acc, &cases[i].want))
                        fail_msg("case %s: sum differs", cases[i].name);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_u64),  cmocka_unit_test(test_limit),
                cmocka_unit_test(test_stat), cmocka_unit_test(test_oom_kill),
                cmocka_unit_test(test_psi),  cmocka_unit_test(test_sample_add),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
