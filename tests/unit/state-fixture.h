/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the state tests share (test-state.c, test-state-file.c, test-state-json.c): a temp
 * state directory made and removed around each test, and a tripped state with three actions
 * and two baselines. Include after <cmocka.h>.
 */

#include <limits.h>
#include <stdio.h>

#include "state.h"
#include "unit-helpers.h"

#define BATCH "v1.0.1-a"

__attribute__((unused)) static char dir[PATH_MAX];

static inline int setup(void **ctx)
{
        (void)ctx;
        return tmpdir_make(dir, sizeof(dir), "test-state") ? 0 : -1;
}

static inline int teardown(void **ctx)
{
        (void)ctx;
        return rm_tree(dir);
}

static const struct breaker_trip reason = {
        .t_ms = 210000,
        .instance = "canary-1",
        .rule = "heap-pressure",
        .consecutive = 3,
        .limit = 3,
        .conditions = { { COND_MEMORY_RATIO, true, 0.95, 0.92 },
                        { COND_HEAP_RATIO, false, 0, 0.9 }, /* no data: not recorded */
                        { COND_GC_PER_MINUTE, true, 18, 15 } },
        .n_conditions = 3,
};

static const char *const action_names[] = { "drain", "rollback", "notify" };
static const struct policy_action policy_actions[] = { { .name = "drain" },
                                                       { .name = "rollback" },
                                                       { .name = "notify" } };

/* A tripped state with the three actions and two baselines. */
static inline struct state *make_tripped(void)
{
        struct state *s;

        assert_int_equal(state_new(BATCH, &s), 0);
        assert_int_equal(state_baseline_set(s, "canary-1", 2), 0);
        assert_int_equal(state_baseline_set(s, "canary-2", 0), 0);
        assert_int_equal(state_begin_trip(s, &reason, 1795400225, policy_actions, 3, "r1"), 0);
        return s;
}

static inline struct state *save_and_load(const struct state *s)
{
        struct state_load_error err;
        struct state *back = NULL;

        assert_int_equal(state_save(dir, s), 0);
        assert_int_equal(state_load(dir, s->batch, &back, &err), 0);
        return back;
}
