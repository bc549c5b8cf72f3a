/* SPDX-License-Identifier: MIT */
/*
 * The sampler on the fixture trees (tests/fixtures/cgroup-v{1,2}): discovery through an
 * explicit root, literal and glob targets, "max", cgroups vanishing and coming back between
 * ticks, and a steady-state tick that does not allocate. One case uses a real cgroup when
 * run as root.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"

#include "count-allocs.h"
#include "fixture-tree.h"

static struct cgroup_hierarchy *open_fixture(const char *sub)
{
        struct cgroup_hierarchy *h = NULL;
        char dir[512], err[CGROUP_ERROR_MAX];
        int r;

        snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
        r = cgroup_hierarchy_open(dir, err, &h);
        if (r < 0)
                fail_msg("%s: %s", dir, err);
        return h;
}

struct root_case {
        const char *sub; /* under tmpdir */
        int r;
        enum cgroup_version v;
        const char *root_suffix, *psi_suffix, *err_has;
};

static void test_open_root(void **state)
{
        static const struct root_case cases[] = {
                { "cgroup-v2", 0, CGROUP_V2, "/cgroup-v2", "/cgroup-v2" },
                { "cgroup-v2/", 0, CGROUP_V2, "/cgroup-v2", "/cgroup-v2" },
                { "cgroup-v1/memory", 0, CGROUP_V1, "/cgroup-v1/memory", "/cgroup-v1/unified" },
                /* a whole v1 cgroupfs: descends into memory/ */
                { "cgroup-v1", 0, CGROUP_V1, "/cgroup-v1/memory", "/cgroup-v1/unified" },
                /* a v1 subtree has no unified/ sibling: PSI no-data */
                { "cgroup-v1/memory/system.slice", 0, CGROUP_V1, "/memory/system.slice", "" },
                { "cgroup-v2/system.slice", 0, CGROUP_V2, "/system.slice", "/system.slice" },
                { "nonexistent", -ENOENT, 0, NULL, NULL, "No such file or directory" },
                { "cgroup-v1/unified", -EMEDIUMTYPE, 0, NULL, NULL, "memory.usage_in_bytes" },
                { "cgroup-v2/memory.stat", -ENOTDIR, 0, NULL, NULL, "Not a directory" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct root_case *c = &cases[i];
                struct cgroup_hierarchy *h = NULL;
                char dir[512], err[CGROUP_ERROR_MAX] = "";
                const char *root, *psi;
                int r;

                snprintf(dir, sizeof(dir), "%s/%s", tmpdir, c->sub);
                r = cgroup_hierarchy_open(dir, err, &h);
                if (r != c->r)
                        fail_msg("case %s: r=%d (%s), want %d", c->sub, r, err, c->r);
                if (r < 0) {
                        assert_null(h);
                        assert_non_null(strstr(err, c->err_has));
                        assert_non_null(strstr(err, c->sub));
                        continue;
                }
                assert_int_equal(cgroup_hierarchy_version(h), c->v);
                root = cgroup_hierarchy_root(h);
                psi = cgroup_hierarchy_psi_root(h);
                assert_string_equal(root + strlen(root) - strlen(c->root_suffix), c->root_suffix);
                if (c->psi_suffix[0])
                        assert_string_equal(psi + strlen(psi) - strlen(c->psi_suffix),
                                            c->psi_suffix);
                else
                        assert_string_equal(psi, "");
                cgroup_hierarchy_free(h);
        }
}

#define NODATA    UINT64_MAX
#define UNLIMITED (UINT64_MAX - 1)

struct sample_case {
        const char *tree, *pattern;
        int r;
        size_t matches;
        uint64_t current, max, inactive, anon, oom_kill, failcnt;
        double psi_some; /* < 0: no-data */
        const char *reason_has;
};

static const struct sample_case sample_cases[] = {
        /* v2: literal, "max", globs with zero, one and several matches, the root, bad files */
        { "cgroup-v2", "/system.slice/order-canary@1.service", 0, 1, 1286602752, 2147483648,
          104857600, 1073741824, 1, NODATA, 3.10 },
        { "cgroup-v2", "/system.slice/order-canary@2.service", 0, 1, 540016640, UNLIMITED, 67108864,
          402653184, 0, NODATA, 1.05 },
        { "cgroup-v2", "/system.slice/order-stable*", 0, 1, 338690048, 1073741824, 33554432,
          268435456, 0, NODATA, 0 },
        { "cgroup-v2", "/system.slice/order-canary@*.service", 0, 2, 1826619392, UNLIMITED,
          171966464, 1476395008, 1, NODATA, 3.10 },
        { "cgroup-v2", "/system.slice/order-*", 0, 3, 2165309440, UNLIMITED, 205520896, 1744830464,
          1, NODATA, 3.10 },
        { "cgroup-v2", "/*/order-stable.service", 0, 1, 338690048, 1073741824, 33554432, 268435456,
          0, NODATA, 0 },
        { "cgroup-v2", "/system.slice/nothing-*.service", -ENOENT, 0,
          .reason_has = "matches nothing" },
        { "cgroup-v2", "/memory.*", -ENOENT, 0, .reason_has = "matches nothing" }, /* files */
        { "cgroup-v2", "/system.slice/gone.service", -ENOENT, 0, .reason_has = "does not exist" },
        { "cgroup-v2", "/", 0, 1, NODATA, NODATA, 1073741824, 2147483648, NODATA, NODATA, 0.12 },
        { "cgroup-v2", "/system.slice/broken.service", 0, 1, 104857600, UNLIMITED, NODATA, NODATA,
          NODATA, NODATA, 0, "broken.service/memory.stat: malformed" },
        /* v1: hierarchical totals, failcnt, PSI from the unified sibling when it has the path */
        { "cgroup-v1", "/system.slice/order-canary@1.service", 0, 1, 1283457024, 2147483648,
          104857600, 1073741824, 2, 17, 3.10 },
        { "cgroup-v1", "/system.slice/order-canary@2.service", 0, 1, 536870912, UNLIMITED, 67108864,
          402653184, 0, 0, -1 },
        { "cgroup-v1", "/system.slice/order-canary@*.service", 0, 2, 1820327936, UNLIMITED,
          171966464, 1476395008, 2, 17, -1 },
        { "cgroup-v1", "/system.slice/order-canary@[3-9].service", -ENOENT, 0,
          .reason_has = "matches nothing" },
};

static void check_u64(const char *what, bool has, uint64_t v, uint64_t want, size_t i)
{
        if (want == NODATA && has)
                fail_msg("case %zu: %s = %" PRIu64 ", want no-data", i, what, v);
        if (want != NODATA && (!has || v != want))
                fail_msg("case %zu: %s = %s%" PRIu64 ", want %" PRIu64, i, what,
                         has ? "" : "no-data ", v, want);
}

static void check_sample(const struct mem_sample *m, const struct sample_case *c, size_t i)
{
        check_u64("current", m->has_current, m->current_bytes, c->current, i);
        if (c->max == UNLIMITED)
                assert_true(m->has_max && m->max_unlimited);
        else
                check_u64("max", m->has_max && !m->max_unlimited, m->max_bytes, c->max, i);
        check_u64("inactive_file", m->has_inactive_file, m->inactive_file_bytes, c->inactive, i);
        check_u64("anon", m->has_anon, m->anon_bytes, c->anon, i);
        check_u64("oom_kill", m->has_oom_kill, m->oom_kill, c->oom_kill, i);
        check_u64("failcnt", m->has_failcnt, m->failcnt, c->failcnt, i);
        assert_int_equal(m->has_psi_some && m->has_psi_full, c->psi_some >= 0);
        if (c->psi_some >= 0)
                assert_float_equal(m->psi_some_avg10_pct, c->psi_some, 1e-9);
}

static void test_sample(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(sample_cases) / sizeof(sample_cases[0]); i++) {
                const struct sample_case *c = &sample_cases[i];
                struct cgroup_hierarchy *h = open_fixture(c->tree);
                struct cgroup_target *t = NULL;
                struct mem_sample m = { 0 };
                char reason[CGROUP_ERROR_MAX];
                int r;

                assert_int_equal(cgroup_target_new(h, c->pattern, &t), 0);
                r = cgroup_target_sample(t, reason, &m);
                if (r != c->r)
                        fail_msg("case %zu (%s %s): r=%d (%s), want %d", i, c->tree, c->pattern, r,
                                 reason, c->r);
                assert_int_equal(cgroup_target_matches(t), c->matches);
                assert_int_equal(cgroup_target_gone(t), r == -ENOENT);
                assert_int_equal(cgroup_target_gone_changed(t), r == -ENOENT);
                if (c->reason_has && !strstr(reason, c->reason_has))
                        fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, reason, c->reason_has);
                if (!c->reason_has && reason[0])
                        fail_msg("case %zu: unexpected reason \"%s\"", i, reason);
                if (r == 0)
                        check_sample(&m, c, i);
                cgroup_target_free(t);
                cgroup_hierarchy_free(h);
        }
}

struct path_case {
        const char *cgroup, *unit;
        int r;
        const char *want;
};

static void test_target_path(void **state)
{
        static const struct path_case cases[] = {
                { "/kubepods/pod-*", NULL, 0, "/kubepods/pod-*" },
                { NULL, "order-canary@1.service", 0, "/system.slice/order-canary@1.service" },
                { NULL, "../x.service", -EINVAL },
                { NULL, "", -EINVAL },
                { NULL, NULL, -EINVAL },
        };
        static const char *const bad_patterns[] = { "relative/path", "/a/../b", "/a/./b", "" };
        struct cgroup_hierarchy *h = open_fixture("cgroup-v2");
        char buf[CGROUP_PATH_MAX], long_path[CGROUP_PATH_MAX + 2];
        struct cgroup_target *t = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(cgroup_target_path(cases[i].cgroup, cases[i].unit, buf),
                                 cases[i].r);
                if (cases[i].r == 0)
                        assert_string_equal(buf, cases[i].want);
        }
        for (size_t i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++)
                assert_int_equal(cgroup_target_new(h, bad_patterns[i], &t), -EINVAL);
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        assert_int_equal(cgroup_target_new(h, long_path, &t), -ENAMETOOLONG);
        assert_null(t);
        cgroup_hierarchy_free(h);
}

/* A glob matching more than CGROUP_MATCHES_MAX cgroups sums the first ones and says so. */
static void test_glob_cap(void **state)
{
        struct cgroup_hierarchy *h = NULL;
        struct cgroup_target *t = NULL;
        char dir[512], err[CGROUP_ERROR_MAX], reason[CGROUP_ERROR_MAX];
        struct mem_sample m = { 0 };

        (void)state;
        snprintf(dir, sizeof(dir), "%s/many", tmpdir);
        run("mkdir -p '%s' && cd '%s' && echo memory >cgroup.controllers && bash -c \"mkdir "
            "c{0..%d} && for d in c[0-9]*; do echo 1 >\\$d/memory.current; done\"",
            dir, dir, CGROUP_MATCHES_MAX);
        assert_int_equal(cgroup_hierarchy_open(dir, err, &h), 0);
        assert_int_equal(cgroup_target_new(h, "/c*", &t), 0);
        assert_int_equal(cgroup_target_sample(t, reason, &m), 0);
        assert_int_equal(cgroup_target_matches(t), CGROUP_MATCHES_MAX);
        assert_true(m.has_current);
        assert_int_equal(m.current_bytes, CGROUP_MATCHES_MAX);
        if (!strstr(reason, "/c* matches more than 1024 cgroups; only 1024 are summed"))
                fail_msg("reason: %s", reason);
        cgroup_target_free(t);
        cgroup_hierarchy_free(h);
        run("rm -rf '%s'", dir);
}

/* One tick; returns its result and checks the gone flags it leaves. */
static int tick(struct cgroup_target *t, bool gone, bool changed, size_t matches)
{
        char reason[CGROUP_ERROR_MAX];
        struct mem_sample m = { 0 };
        int r = cgroup_target_sample(t, reason, &m);

        assert_int_equal(cgroup_target_gone(t), gone);
        assert_int_equal(cgroup_target_gone_changed(t), changed);
        assert_int_equal(cgroup_target_matches(t), matches);
        assert_int_equal(r, gone ? -ENOENT : 0);
        assert_true(gone ? strstr(reason, "under") != NULL : m.has_current);
        return r;
}

static void test_vanish_literal(void **state)
{
        struct cgroup_hierarchy *h = open_fixture("cgroup-v2");
        struct cgroup_target *t = NULL;

        (void)state;
        assert_int_equal(cgroup_target_new(h, "/system.slice/order-stable.service", &t), 0);
        tick(t, false, false, 1);
        tick(t, false, false, 1);
        run("mv '%s/cgroup-v2/system.slice/order-stable.service' '%s/stable.bak'", tmpdir, tmpdir);
        tick(t, true, true, 0);  /* logged once as gone */
        tick(t, true, false, 0); /* and not again */
        run("mv '%s/stable.bak' '%s/cgroup-v2/system.slice/order-stable.service'", tmpdir, tmpdir);
        tick(t, false, true, 1); /* back, logged once */
        tick(t, false, false, 1);
        cgroup_target_free(t);
        cgroup_hierarchy_free(h);
}

static void test_vanish_glob(void **state)
{
        struct cgroup_hierarchy *h = open_fixture("cgroup-v1");
        struct cgroup_target *t = NULL;
        const char *dir = "cgroup-v1/memory/system.slice";

        (void)state;
        assert_int_equal(cgroup_target_new(h, "/system.slice/order-canary@*.service", &t), 0);
        tick(t, false, false, 2);
        run("mv '%s/%s/order-canary@2.service' '%s/c2.bak'", tmpdir, dir, tmpdir);
        tick(t, false, false, 1);
        run("mv '%s/%s/order-canary@1.service' '%s/c1.bak'", tmpdir, dir, tmpdir);
        tick(t, true, true, 0);
        run("mv '%s/c2.bak' '%s/%s/order-canary@2.service'", tmpdir, tmpdir, dir);
        tick(t, false, true, 1); /* a restarted container: a new match */
        run("mv '%s/c1.bak' '%s/%s/order-canary@1.service'", tmpdir, tmpdir, dir);
        tick(t, false, false, 2);
        cgroup_target_free(t);
        cgroup_hierarchy_free(h);
}

/* After the first tick opened everything, ticks allocate nothing, globs included. */
static void test_steady_state_allocates_nothing(void **state)
{
#if !COUNT_ALLOCS
        (void)state;
        skip();
#else
        static const char *const patterns[] = { "/system.slice/order-canary@1.service",
                                                "/system.slice/order-*", "/*/order-stable*" };
        struct cgroup_hierarchy *h = open_fixture("cgroup-v1");

        (void)state;
        for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
                struct cgroup_target *t = NULL;
                char reason[CGROUP_ERROR_MAX];
                struct mem_sample m;
                size_t before;

                assert_int_equal(cgroup_target_new(h, patterns[i], &t), 0);
                assert_int_equal(cgroup_target_sample(t, reason, &m), 0);
                before = n_allocs;
                for (int k = 0; k < 100; k++)
                        assert_int_equal(cgroup_target_sample(t, reason, &m), 0);
                if (n_allocs != before)
                        fail_msg("%s: %zu allocations in 100 ticks", patterns[i],
                                 n_allocs - before);
                cgroup_target_free(t);
        }
        cgroup_hierarchy_free(h);
#endif
}

/* The kernel's way: a removed cgroup's kept-open files fail with ENODEV. Needs root. */
static void test_real_cgroup_vanishes(void **state)
{
        struct cgroup_hierarchy *h = NULL;
        struct cgroup_target *t = NULL;
        char err[CGROUP_ERROR_MAX], path[PATH_MAX], name[64];

        (void)state;
        if (geteuid() != 0 || cgroup_hierarchy_discover(err, &h) < 0) {
                fprintf(stderr, "skipped: needs root and a cgroup memory hierarchy\n");
                skip();
        }
        snprintf(name, sizeof(name), "/oombreaker-unit-%d", (int)getpid());
        snprintf(path, sizeof(path), "%s%s", cgroup_hierarchy_root(h), name);
        if (mkdir(path, 0755) < 0) {
                cgroup_hierarchy_free(h);
                fprintf(stderr, "skipped: mkdir %s: %s\n", path, strerror(errno));
                skip();
        }
        assert_int_equal(cgroup_target_new(h, name, &t), 0);
        tick(t, false, false, 1);
        assert_int_equal(rmdir(path), 0);
        tick(t, true, true, 0);
        assert_int_equal(mkdir(path, 0755), 0); /* same name, new cgroup: reopened */
        tick(t, false, true, 1);
        assert_int_equal(rmdir(path), 0);
        cgroup_target_free(t);
        cgroup_hierarchy_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_root),
                cmocka_unit_test(test_sample),
                cmocka_unit_test(test_target_path),
                cmocka_unit_test(test_vanish_literal),
                cmocka_unit_test(test_vanish_glob),
                cmocka_unit_test(test_glob_cap),
                cmocka_unit_test(test_steady_state_allocates_nothing),
                cmocka_unit_test(test_real_cgroup_vanishes),
        };

        return cmocka_run_group_tests(tests, fixture_trees_setup, fixture_trees_teardown);
}
