/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The breaker of one canary batch: streaks per (instance, rule), the last minute of each
 * instance's samples, OOM baselines taken at arming, and the phase (DESIGN.md "Breaker
 * state machine"). Pure: no I/O, no clock; memory is allocated by breaker_new() only.
 *
 * Per tick the caller passes every target's sample (or NULL) to breaker_step() and gets
 * the transitions back. A breach increments a streak, a pass resets it, no-data holds it
 * and counts toward max_errors (except a forecast warming up, which is expected). The first streak
 * to reach its rule's consecutive trips the batch, and the trip latches until breaker_reset().
 *
 * Dry run (the batch's dry_run, or the rule's): reaching the limit is reported as a
 * transition to "tripped" flagged dry_run ("would trip"), once per streak; the phase is
 * not latched, the streak keeps counting, and the caller must act on nothing. The first
 * such reason since arming is kept for status (breaker_would_trip()).
 *
 * Phase precedence after a tick: tripped > inconclusive (some (instance, rule) has been
 * no-data for max_errors ticks in a row; max_errors 0 disables) > breaching (some streak
 * above 0) > armed. rolled_back, failed and promoted are set from outside and, like
 * tripped, stop evaluation.
 *
 * Batch scope evaluates one instance, "*": the targets' working sets, limits (each
 * target's own or its memory_limit), heap figures and OOM kills since arming are summed,
 * GC counts are summed as a counter that advances by each target's own increments (so one
 * target's restart is that target's counter reset, not a drop of the sum), and PSI is the
 * highest target's. A figure is no-data when any target lacks it.
 *
 * time_to_limit_below: each target keeps a struct forecast of its working set (and batch
 * scope one of the sum), allocated by breaker_new() only when a rule uses it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "rules.h"
#include "sample.h"

#define BREAKER_BATCH_INSTANCE "*"
#define BREAKER_TRIP_ID_MAX    127 /* [A-Za-z0-9-] */
#define BREAKER_TIME_MAX       31  /* RFC 3339, UTC: 2026-11-26T02:17:05Z */
#define BREAKER_TEXT_MAX       200 /* the operator's words on a manual trip */
#define BREAKER_MANUAL_RULE    "manual"

enum breaker_phase {
        BREAKER_ARMED,
        BREAKER_BREACHING,
        BREAKER_TRIPPED,
        BREAKER_ROLLED_BACK,
        BREAKER_FAILED,
        BREAKER_INCONCLUSIVE,
        BREAKER_PROMOTED,
        _BREAKER_PHASE_MAX,
};

/*
 * The phase and the trip below are the one model of a batch's verdict: the breaker
 * produces them, the state file stores exactly them, and status, replay and webhook
 * payloads render them (io/trip-json.h).
 */

/* One condition of a trip reason; metric names come from cond_metric_to_string(). */
struct breaker_condition {
        enum cond_metric metric;
        bool has_value; /* false: no data for this condition at the trip */
        double value;
        double threshold;
};

/*
 * Why the batch tripped (or would have, under dry run). Plain data, safe to copy and store.
 * id and time are given when the trip is recorded (state_begin_trip()); "" before.
 */
struct breaker_trip {
        char id[BREAKER_TRIP_ID_MAX + 1];
        char time[BREAKER_TIME_MAX + 1];    /* wall clock of the record */
        int64_t t_ms;                       /* monotonic, as in traces */
        char instance[POLICY_NAME_MAX + 1]; /* target name, or "*" in batch scope */
        char rule[POLICY_NAME_MAX + 1];
        unsigned consecutive; /* the streak at the trip */
        unsigned limit;       /* the rule's effective consecutive */
        bool dry_run;
        size_t n_conditions;
        struct breaker_condition conditions[_COND_MAX];
        char text[BREAKER_TEXT_MAX + 1]; /* a manual trip's reason (printable ASCII); "" else */
};

struct breaker_transition {
        int64_t t_ms;
        enum breaker_phase from;
        enum breaker_phase to;
        char instance[POLICY_NAME_MAX + 1]; /* what caused it; "" when nothing in particular */
        char rule[POLICY_NAME_MAX + 1];
        bool dry_run; /* a "would trip": to is BREAKER_TRIPPED but the phase did not change */
};

struct breaker;

/* "armed", "breaching", ...; NULL if out of range. */
const char *breaker_phase_to_string(enum breaker_phase p);
/* The reverse; returns 0 or -EINVAL. */
int breaker_phase_from_string(const char *s, enum breaker_phase *ret);
/* True for the phases that hold a trip: tripped, rolled_back and failed (the latch). */
bool breaker_phase_latched(enum breaker_phase p);

/*
 * A new, armed breaker for policy p, which is borrowed and must outlive it. window_cap is
 * the number of samples kept per instance (0: none when no rule of p takes a rate, so
 * memory_growth and gc_per_minute are no-data; otherwise a minute at p's interval plus a
 * half-interval storm of event ticks; capped at RULES_WINDOW_MAX). Rates need a span of
 * half p's interval (struct rules_window). Returns 0 or -ENOMEM, -EINVAL (no targets or
 * rules).
 */
int breaker_new(const struct policy *p, size_t window_cap, struct breaker **ret);

/* Frees b; NULL is fine. Returns NULL. */
struct breaker *breaker_free(struct breaker *b);

/*
 * One tick at t_ms: samples[i] is target i's sample (policy order), NULL when it has none
 * this tick; n must be the policy's n_targets. Evaluates nothing when the phase is tripped,
 * rolled_back, failed or promoted. Returns the number of transitions (see
 * breaker_transitions()), or -EINVAL.
 */
int breaker_step(struct breaker *b, int64_t t_ms, const struct sample *const *samples, size_t n);

/* The transitions of the last breaker_step(), valid until the next call. */
const struct breaker_transition *breaker_transitions(const struct breaker *b, size_t *ret_n);

enum breaker_phase breaker_phase(const struct breaker *b);
/* The trip reason when tripped, rolled_back or failed; NULL otherwise. */
const struct breaker_trip *breaker_trip(const struct breaker *b);
/* The first dry-run "would trip" since arming (where a real trip would have latched); NULL if none.
 */
const struct breaker_trip *breaker_would_trip(const struct breaker *b);

/*
 * A manual trip at t_ms (`oombreaker trip`): latches like a rule's trip, with rule "manual",
 * instance "*", no conditions and text as the reason (1..BREAKER_TEXT_MAX printable ASCII
 * characters). Returns 0; -EALREADY when a trip is already latched (nothing changes, so the
 * actions never go twice); -EBUSY when promoted; -EINVAL for bad text.
 */
int breaker_trip_manual(struct breaker *b, int64_t t_ms, const char *text);

/* True for text a manual trip accepts: 1..BREAKER_TEXT_MAX printable ASCII characters. */
bool breaker_text_valid(const char *text);

/* Re-arms: phase armed, streaks and windows cleared, OOM baselines retaken at the next sample. */
void breaker_reset(struct breaker *b);

/* The pipeline promoted the batch: no longer watched. -EBUSY when tripped, rolled_back or failed.
 */
int breaker_promote(struct breaker *b);

/*
 * The actions' outcome: tripped -> rolled_back or failed, failed -> rolled_back (a retry
 * succeeded). Returns 0, or -EINVAL for any other change.
 */
int breaker_set_phase(struct breaker *b, enum breaker_phase to);

/*
 * Restores a persisted phase and trip reason (trip required for tripped, rolled_back and
 * failed; ignored otherwise). Like breaker_reset() it clears streaks, windows and OOM
 * baselines: restore baselines afterwards. Returns 0 or -EINVAL.
 */
int breaker_restore(struct breaker *b, enum breaker_phase phase, const struct breaker_trip *trip);

/* Target i's OOM baseline: returns true and sets *ret_count when it has been taken. */
bool breaker_oom_baseline(const struct breaker *b, size_t target, uint64_t *ret_count);
/* Restores target i's OOM baseline (from a state file). Returns 0 or -EINVAL. */
int breaker_set_oom_baseline(struct breaker *b, size_t target, uint64_t count);

/* Evaluated instances: n_targets in instance scope, 1 ("*") in batch scope. */
size_t breaker_n_instances(const struct breaker *b);
const char *breaker_instance_name(const struct breaker *b, size_t instance);

/* Streak and consecutive no-data ticks of (instance, rule); 0 when out of range. */
unsigned breaker_streak(const struct breaker *b, size_t instance, size_t rule);
unsigned breaker_no_data(const struct breaker *b, size_t instance, size_t rule);
/* The last evaluation of (instance, rule); NULL when out of range or never evaluated. */
const struct rules_result *breaker_last_result(const struct breaker *b, size_t instance,
                                               size_t rule);
/* Target i's own figures at the last tick, in either scope (for status and metrics). */
const struct rules_figures *breaker_target_figures(const struct breaker *b, size_t target);
/* Target i's own forecast at the last tick, in either scope (for status and the trace);
 * NULL when no rule uses time_to_limit_below, or out of range. */
const struct forecast_view *breaker_target_forecast(const struct breaker *b, size_t target);
