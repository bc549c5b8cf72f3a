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
 * Rates at an event tick: see struct rules_window (rules.h): a rate needs a span back to a
 * sample at least half an interval old, and the window keeps enough points for that.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TICK_DEBOUNCE_MS 100
#define TICK_NEVER       INT64_MIN /* "no event tick yet" for last_event_tick_ms */

/*
 * The time the next tick is due once an event arrives at now_ms: now, or the end of the
 * debounce after the last event tick (TICK_NEVER when there was none), whichever is later;
 * but never later than due_ms, the tick already scheduled.
 */
int64_t tick_due_on_event(int64_t due_ms, int64_t last_event_tick_ms, int64_t now_ms);

/* The regular tick after a tick (event or regular) at tick_ms: one interval later. */
int64_t tick_due_after(int64_t tick_ms, int64_t interval_ms);
