/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Fake cgroupfs trees for the unit tests. Two kinds:
 *  - a copy of the fixture trees tests/fixtures/cgroup-v{1,2} in a temp dir (tmpdir) that a
 *    test may change: fixture_trees_setup and fixture_trees_teardown, as cmocka group
 *    setup and teardown;
 *  - a one-cgroup v2 tree (root/canary with a 2 GiB limit) that a test rewrites between
 *    ticks: fake_tree_make and fake_tree_set_working_set.
 * Include after <cmocka.h>.
 */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "unit-helpers.h"

/* The copy of the fixture trees: tmpdir/cgroup-v1 and tmpdir/cgroup-v2. */
__attribute__((unused)) static char tmpdir[64];

/* Copies both fixture trees to a fresh temp dir, so tests may delete from them. */
static inline int fixture_trees_setup(void **state)
{
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");

        (void)state;
        if (!src) {
                fprintf(stderr, "OOMBREAKER_SOURCE_DIR is not set (run through ctest)\n");
                return -1;
        }
        if (!tmpdir_make(tmpdir, sizeof(tmpdir), program_invocation_short_name))
                return -1;
        run("cp -a '%s/tests/fixtures/cgroup-v1' '%s/tests/fixtures/cgroup-v2' '%s/'", src, src,
            tmpdir);
        return 0;
}

static inline int fixture_trees_teardown(void **state)
{
        (void)state;
        run("rm -rf '%s'", tmpdir);
        return 0;
}

/* The canary's working set (memory.current, no inactive file cache) under root. */
static inline void fake_tree_set_working_set(const char *root, uint64_t bytes)
{
        char dir[PATH_MAX + 8], text[32];

        snprintf(dir, sizeof(dir), "%s/canary", root);
        snprintf(text, sizeof(text), "%llu\n", (unsigned long long)bytes);
        write_file(dir, "memory.current", text);
}

/*
 * Makes dir/cgroup, a cgroup v2 root with the memory controller and one cgroup "canary"
 * (2 GiB limit, 1 GiB working set, no OOM kill), and an empty dir/state. Their paths go to
 * ret_cgroup_root and ret_state_dir (PATH_MAX bytes each).
 */
static inline void fake_tree_make(const char *dir, char *ret_cgroup_root, char *ret_state_dir)
{
        char canary[PATH_MAX + 8];

        snprintf(ret_cgroup_root, PATH_MAX, "%s/cgroup", dir);
        snprintf(ret_state_dir, PATH_MAX, "%s/state", dir);
        snprintf(canary, sizeof(canary), "%s/canary", ret_cgroup_root);
        assert_int_equal(mkdir(ret_cgroup_root, 0755), 0);
        assert_int_equal(mkdir(ret_state_dir, 0750), 0);
        assert_int_equal(mkdir(canary, 0755), 0);
        write_file(ret_cgroup_root, "cgroup.controllers", "memory\n");
        write_file(canary, "memory.max", "2147483648\n");
        write_file(canary, "memory.stat", "anon 1024\ninactive_file 0\n");
        write_file(canary, "memory.events", "oom_kill 0\n");
        fake_tree_set_working_set(ret_cgroup_root, UINT64_C(1) << 30);
}
