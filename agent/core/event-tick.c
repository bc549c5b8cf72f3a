/* SPDX-License-Identifier: MIT */
/* Event-tick scheduling; see event-tick.h. */

#include "event-tick.h"

int64_t tick_due_on_event(int64_t due_ms, int64_t last_event_tick_ms, int64_t now_ms)
{
        int64_t earliest = now_ms;

        if (last_event_tick_ms != TICK_NEVER && last_event_tick_ms + TICK_DEBOUNCE_MS > now_ms)
                earliest = last_event_tick_ms + TICK_DEBOUNCE_MS;
        return earliest < due_ms ? earliest : due_ms;
}

int64_t tick_due_after(int64_t tick_ms, int64_t interval_ms)
{
        return tick_ms + interval_ms;
}
