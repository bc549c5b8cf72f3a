/* SPDX-License-Identifier: MIT */
/*
 * cgroup_target_limit_every(): the limit file is read on one sample of n, the samples between
 * repeat the limit read last; a limit that could not be read is read again on the next
 * sample; a recreated cgroup reads its limit at once. On a copy of the v2 fixture tree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "unit-helpers.h"

#define CANARY "cgroup-v2/system.slice/order-canary@1.service"

static char tmpdir[] = "/tmp/test-cgroup-limit-XXXXXX";

static int setup(void **state)
{
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");

        (void)state;
        if (!src || !mkdtemp(tmpdir))
                return -1;
        run("cp -a '%s/tests/fixtures/cgroup-v2' '%s/'", src, tmpdir);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        run("rm -rf '%s'", tmpdir);
        return 0;
}

/* Writes memory.max of the canary in place (the open fd sees the new text). */
static void set_max(const char *text)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/" CANARY "/memory.max", tmpdir);
        f = fopen(path, "r+");
        assert_non_null(f);
        assert_int_equal(ftruncate(fileno(f), 0), 0);
        fputs(text, f);
        fclose(f);
}

/* One sample; returns the limit it shows: UINT64_MAX for "max", 0 for none. */
static uint64_t limit_now(struct cgroup_target *t)
{
        char reason[CGROUP_ERROR_MAX];
        struct mem_sample m = { 0 };

        assert_int_equal(cgroup_target_sample(t, reason, &m), 0);
        if (!m.has_max)
                return 0;
        return m.max_unlimited ? UINT64_MAX : m.max_bytes;
}

static void test_limit_every(void **state)
{
        /* limit read per sample, with n = 3; the file changes before samples 2, 5 and 7 */
        static const struct {
                const char *write; /* NULL: unchanged */
                uint64_t want;
        } steps[] = {
                { "1000\n", 1000 }, { "2000\n", 1000 }, { NULL, 1000 },     { NULL, 2000 },
                { "max\n", 2000 },  { NULL, 2000 },     { "bad\n", 0 },     { NULL, 0 },
                { "3000\n", 3000 }, { NULL, 3000 },     { "4000\n", 3000 },
        };
        struct cgroup_hierarchy *h = NULL;
        struct cgroup_target *t = NULL;
        char dir[512], err[CGROUP_ERROR_MAX];

        (void)state;
        snprintf(dir, sizeof(dir), "%s/cgroup-v2", tmpdir);
        assert_int_equal(cgroup_hierarchy_open(dir, err, &h), 0);
        assert_int_equal(cgroup_target_new(h, "/system.slice/order-canary@1.service", &t), 0);
        cgroup_target_limit_every(t, 3);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                uint64_t got;

                if (steps[i].write)
                        set_max(steps[i].write);
                got = limit_now(t);
                if (got != steps[i].want)
                        fail_msg("sample %zu: limit %llu, want %llu", i + 1,
                                 (unsigned long long)got, (unsigned long long)steps[i].want);
        }
        /* n = 1 (the default): every sample reads it */
        cgroup_target_limit_every(t, 1);
        assert_int_equal(limit_now(t), 4000);
        set_max("5000\n");
        assert_int_equal(limit_now(t), 5000);
        /* a cgroup removed and created again: its limit is read at once */
        cgroup_target_limit_every(t, 3);
        assert_int_equal(limit_now(t), 5000);
        run("mv '%s/" CANARY "' '%s/canary.bak'", tmpdir, tmpdir);
        {
                char reason[CGROUP_ERROR_MAX];
                struct mem_sample m = { 0 };

                assert_int_equal(cgroup_target_sample(t, reason, &m), -ENOENT);
        }
        run("mv '%s/canary.bak' '%s/" CANARY "'", tmpdir, tmpdir);
        set_max("6000\n");
        assert_int_equal(limit_now(t), 6000);
        cgroup_target_free(t);
        cgroup_hierarchy_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_limit_every),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
