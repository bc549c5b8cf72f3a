/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The fixture of the breaker tests (test-breaker*.c): one batch of 1 or 2 targets with one rule,
 * and scripted ticks.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"
#include "util.h"

#define GiB      (1024ULL * 1024 * 1024)
#define TICK_MS  5000
#define MAX_TGTS 2

/*
 * Scripts: one character per tick and target.
 *   'B'  working set 0.95 of a 1 GiB limit (breaches memory_ratio_above 0.9)
 *   'P'  working set 0.5 of it (passes)
 *   '-'  no sample at all this tick (no-data)
 *   '0'..'9'  a passing working set, and that cumulative oom_kill count
 */
static inline struct sample sample_for(char code, int64_t t_ms)
{
        struct sample s = { .t_ms = t_ms };

        s.memory.has_current = s.memory.has_inactive_file = s.memory.has_max = true;
        s.memory.max_bytes = GiB;
        s.memory.inactive_file_bytes = 0;
        s.memory.current_bytes = code == 'B' ? GiB * 95 / 100 : GiB / 2;
        s.memory.has_oom_kill = true;
        s.memory.oom_kill = code >= '0' && code <= '9' ? (uint64_t)(code - '0') : 0;
        return s;
}

struct fixture {
        struct policy p;
        struct policy_target targets[MAX_TGTS];
        struct policy_rule rules[2];
        struct breaker *b;
};

static inline void fixture_init(struct fixture *fx, enum policy_scope scope, size_t n_targets,
                                enum cond_metric metric, double threshold)
{
        memset(fx, 0, sizeof(*fx));
        strcpy(fx->p.name, "batch-t");
        fx->p.interval_ms = TICK_MS;
        fx->p.consecutive = 3;
        fx->p.max_errors = 4;
        fx->p.scope = scope;
        fx->p.targets = fx->targets;
        fx->p.n_targets = n_targets;
        for (size_t i = 0; i < n_targets; i++)
                snprintf(fx->targets[i].name, sizeof(fx->targets[i].name), "t%zu", i);
        fx->p.rules = fx->rules;
        fx->p.n_rules = 1;
        strcpy(fx->rules[0].name, "r");
        fx->rules[0].has[metric] = true;
        fx->rules[0].threshold[metric] = threshold;
}

static inline void fixture_start(struct fixture *fx)
{
        assert_int_equal(breaker_new(&fx->p, 0, &fx->b), 0);
}

/* Runs tick k of the scripts; returns the number of transitions. */
static inline int run_tick(struct fixture *fx, const char *const *scripts, size_t k)
{
        struct sample s[MAX_TGTS];
        const struct sample *sp[MAX_TGTS] = { NULL };

        for (size_t i = 0; i < fx->p.n_targets; i++) {
                s[i] = sample_for(scripts[i][k], (int64_t)k * TICK_MS);
                sp[i] = scripts[i][k] == '-' ? NULL : &s[i];
        }
        return breaker_step(fx->b, (int64_t)k * TICK_MS, sp, fx->p.n_targets);
}

/* The (metric, threshold) of the rule most tests give fixture_init. */
#define RATIO COND_MEMORY_RATIO, 0.9
#define OOM   COND_OOM_KILLS, 1
