/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Rules: evaluates one [rule] for one instance (or the batch sum) at one tick, as
 * DESIGN.md "Policy file" defines it. Pure: no I/O, no clock, no allocation, no globals.
 *
 * Evaluation is split in two so a tick derives each instance's figures once and then
 * checks every rule against them:
 *   rules_input_from_sample()  one sample -> instant inputs (working set, limit, heap, OOM, PSI)
 *   rules_window_push()        remembers the working set and GC count of the last minute
 *   rules_figures_compute()    inputs + window -> one value per condition metric, or no-data
 *   rules_evaluate()           one rule over those figures -> pass / breach / no-data
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forecast.h"
#include "policy.h"
#include "sample.h"

#define RULES_WINDOW_MS 60000 /* per-minute figures use the samples in (t - 60 s, t] */
/* With interval >= 100 ms a 60 s window holds at most 600 ticks; one spare for jitter. */
#define RULES_WINDOW_MAX 601

enum rules_outcome {
        RULES_PASS,    /* some condition is false on the data it has */
        RULES_BREACH,  /* every condition holds */
        RULES_NO_DATA, /* no condition is false, and an input some condition needs is missing */
        _RULES_OUTCOME_MAX,
};

/* What the windowed figures need from one tick. */
struct rules_point {
        int64_t t_ms;
        bool has_ws;
        bool has_gc;
        uint64_t ws_bytes; /* working set */
        double gc_count;   /* cumulative GC cycles */
};

/*
 * A ring of the last minute's points, oldest first, on storage the caller owns. A rate is
 * taken from the oldest point in the last minute to the newest, and only when that span is
 * at least min_span_ms (half the batch interval): at an event tick that comes soon after the
 * first tick of a window (after arming or a reset), the span back to a sample at least half
 * an interval old does not exist yet, and the rate is no-data instead of a figure taken over
 * 100 ms of counter jitter. A window of cap 0 keeps nothing: its rates are always no-data.
 */
struct rules_window {
        struct rules_point *v;
        size_t cap;
        size_t start; /* index of the oldest point */
        size_t n;
        int64_t min_span_ms;
};

/* Instant inputs of one instance at one tick (or the batch's sums). */
struct rules_input {
        bool has_ws;
        uint64_t ws_bytes;
        bool has_limit; /* false: no limit at all, or not known */
        uint64_t limit_bytes;
        bool has_heap;
        double heap_used_bytes;
        double heap_max_bytes;
        bool has_oom_kills;
        uint64_t oom_kills; /* since the batch was armed */
        bool has_psi_some;
        double psi_some_avg10_pct;
        bool has_psi_full;
        double psi_full_avg10_pct;
};

/* One value per condition metric (units as in enum cond_metric); has[m] false = no-data.
 * warming_up[m]: its no-data is a window still filling (the forecast), not a missing input. */
struct rules_figures {
        bool has[_COND_MAX];
        double value[_COND_MAX];
        bool warming_up[_COND_MAX];
};

struct rules_cond {
        enum cond_metric metric;
        bool has_value;
        bool holds; /* meaningful only when has_value */
        double value;
        double threshold;
};

struct rules_result {
        enum rules_outcome outcome;
        bool warming_up; /* no-data only because figures are warming up: not a sampling error */
        size_t n_conds;  /* conditions of the rule, in enum cond_metric order */
        struct rules_cond conds[_COND_MAX];
};

/* "pass", "breach", "no-data"; NULL if out of range. */
const char *rules_outcome_to_string(enum rules_outcome o);

/* Sets w up empty over storage (cap points, cap >= 2, or cap 0 and storage NULL: a window
 * that keeps nothing), which must outlive w. Rates need a span of at least min_span_ms. */
void rules_window_init(struct rules_window *w, struct rules_point *storage, size_t cap,
                       int64_t min_span_ms);

/* Empties the window (after a reset). */
void rules_window_clear(struct rules_window *w);

/*
 * Appends p (p->t_ms is the current tick) and forgets points at or before
 * p->t_ms - RULES_WINDOW_MS; when the ring is full the oldest point is dropped.
 * A point older than the newest one is ignored (time never goes back within a window).
 */
void rules_window_push(struct rules_window *w, const struct rules_point *p);

/* The i-th point, oldest first; i < w->n. */
const struct rules_point *rules_window_at(const struct rules_window *w, size_t i);

/*
 * Instant inputs from one sample. fallback_limit_bytes (the target's memory_limit, 0 = none)
 * applies when the cgroup has no limit ("max"); an unknown limit stays no-data. OOM kills
 * are counted from oom_baseline, the counter's value when the batch was armed; a counter
 * below its baseline was reset (the cgroup was recreated), so its whole value counts.
 */
void rules_input_from_sample(const struct sample *s, uint64_t fallback_limit_bytes,
                             bool has_oom_baseline, uint64_t oom_baseline, struct rules_input *ret);

/* The window point of a sample: its working set and GC count at s->t_ms. */
void rules_point_from_sample(const struct sample *s, struct rules_point *ret);

/*
 * Figures at tick t_ms from the instant inputs and the window (which should already hold
 * this tick's point). Per-minute figures need two points in (t - 60 s, t], the newest at
 * t_ms itself and the oldest at least w->min_span_ms before it: a figure whose input is
 * missing now is no-data, not a stale value.
 * fc is this tick's forecast (NULL when the batch has no time_to_limit_below rule): the
 * time to the limit when rising, +infinity when flat or falling (never: a pass), no-data
 * otherwise (warming up, no limit, no working set).
 */
void rules_figures_compute(const struct rules_input *in, const struct rules_window *w,
                           const struct forecast_view *fc, int64_t t_ms, struct rules_figures *ret);

/*
 * Evaluates rule r over figures f: each condition's value against its threshold ("above"
 * is strict >, oom_kills_at_least is >=, time_to_limit_below is > 0 and <). A rule without
 * conditions passes. A no-data outcome whose only missing figures are warming up says so.
 */
void rules_evaluate(const struct policy_rule *r, const struct rules_figures *f,
                    struct rules_result *ret);
