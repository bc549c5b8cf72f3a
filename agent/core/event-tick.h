/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * When an event tick happens, and what a rate means at one (DESIGN.md "Events between
 * ticks"). Pure: times are milliseconds handed in by the caller.
 *
 * Debounce: a kernel event brings the batch's next tick forward to now, but event ticks
 * come at most one per TICK_DEBOUNCE_MS, and never later than the tick already due. Every
 * tick, event or regular, puts the next regular tick one interval after itself.
 *
 * Rates at an event tick: a rate such as gc_per_minute is taken over the span back to the
 * newest sample at least half an interval old, so a burst of event ticks 100 ms apart does
 * not turn counter jitter into huge per-minute figures. The ring below keeps the recent
 * (t_ms, counter) samples of one counter; it holds RATE_RING_MAX samples, enough for a
 * half-interval storm of debounced event ticks when the interval is up to
 * 2 * (RATE_RING_MAX - 2) * TICK_DEBOUNCE_MS (12.4 s); beyond that a storm can push every
 * old-enough sample out, and the rate is no-data until one is old enough again.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TICK_DEBOUNCE_MS 100
#define TICK_NEVER       INT64_MIN /* "no event tick yet" for last_event_tick_ms */
#define RATE_RING_MAX    64

/*
 * The time the next tick is due once an event arrives at now_ms: now, or the end of the
 * debounce after the last event tick (TICK_NEVER when there was none), whichever is later;
 * but never later than due_ms, the tick already scheduled.
 */
int64_t tick_due_on_event(int64_t due_ms, int64_t last_event_tick_ms, int64_t now_ms);

/* The regular tick after a tick (event or regular) at tick_ms: one interval later. */
int64_t tick_due_after(int64_t tick_ms, int64_t interval_ms);

struct rate_sample {
        int64_t t_ms;
        uint64_t counter;
};

/* The last RATE_RING_MAX samples of one counter; zero-initialise to start empty. */
struct rate_ring {
        struct rate_sample s[RATE_RING_MAX];
        size_t head; /* where the next sample goes */
        size_t n;    /* samples held */
};

/* Appends a sample (the oldest falls out when full). Samples must come in time order. */
void rate_ring_push(struct rate_ring *r, int64_t t_ms, uint64_t counter);

/* The sample age steps back from the newest (0 = newest), or NULL when there is none. */
const struct rate_sample *rate_ring_at(const struct rate_ring *r, size_t age);

/*
 * Picks the reference sample for a rate at now_ms: the newest sample with
 * t_ms <= now_ms - interval_ms / 2. Returns 0 and its age (for rate_ring_at) in *ret_age,
 * -ENODATA when no sample is that old, or -EINVAL for interval_ms <= 0.
 */
int rate_ring_reference(const struct rate_ring *r, int64_t now_ms, int64_t interval_ms,
                        size_t *ret_age);

/*
 * The per-minute rate of the counter from the reference sample (see above) to the newest
 * sample: the sum of increments between consecutive samples (a decrease is a counter
 * reset: the new value counts as the increment) × 60000 / the span in ms. Push the tick's
 * own sample first. Returns 0 and *ret, or -ENODATA / -EINVAL as rate_ring_reference().
 */
int rate_ring_per_minute(const struct rate_ring *r, int64_t now_ms, int64_t interval_ms,
                         double *ret);
