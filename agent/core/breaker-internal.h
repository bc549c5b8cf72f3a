/* SPDX-License-Identifier: MIT */
#pragma once

/* The breaker's innards, shared by breaker.c (the state machine) and breaker-query.c. */

#include "breaker.h"

struct target_state {
        struct rules_window window;
        struct rules_input input; /* this tick's */
        struct rules_figures figures;
        bool has_oom_baseline;
        uint64_t oom_baseline;
        bool has_last_gc; /* batch scope: the last GC count seen, for its increments */
        double last_gc;
        struct forecast *fc;     /* NULL unless a rule uses time_to_limit_below */
        struct forecast_view fv; /* this tick's */
};

struct pair_state {
        unsigned streak;
        unsigned no_data;   /* consecutive no-data ticks */
        bool would_tripped; /* a dry-run trip was reported for the current streak */
        bool evaluated;
        struct rules_result last;
};

/* Which (instance, rule) caused each kind of phase change this tick; -1 = none. */
struct tick_causes {
        long trip;
        long breaching;
        long no_data_limit;
        long cleared;
};

struct breaker {
        const struct policy *p;
        size_t n_inst;
        struct target_state *targets;
        struct rules_point *storage; /* (n_targets + 1) windows of cap points */
        struct rules_window batch_window;
        struct rules_figures batch_figures;
        double batch_gc; /* sum of the targets' GC increments since arming */
        /* Only with a time_to_limit_below rule (~2 KiB each): one per target, then the
         * batch scope's sum; NULL otherwise. */
        struct forecast *forecasts;
        struct forecast *batch_fc;
        struct forecast_view batch_fv;
        struct pair_state *pairs; /* n_inst * n_rules, instance-major */
        enum breaker_phase phase;
        bool has_trip;
        struct breaker_trip trip;
        bool has_would_trip;
        struct breaker_trip would_trip;
        struct breaker_transition *tv; /* one per pair (dry-run trips) + the phase change */
        size_t n_tv;
};

static inline struct pair_state *pair_at(const struct breaker *b, size_t inst, size_t rule)
{
        return &b->pairs[inst * b->p->n_rules + rule];
}
