/* SPDX-License-Identifier: MIT */
/* Event-tick scheduling and the rate reference rule; see event-tick.h. */
#include <errno.h>

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

void rate_ring_push(struct rate_ring *r, int64_t t_ms, uint64_t counter)
{
        r->s[r->head] = (struct rate_sample){ .t_ms = t_ms, .counter = counter };
        r->head = (r->head + 1) % RATE_RING_MAX;
        if (r->n < RATE_RING_MAX)
                r->n++;
}

const struct rate_sample *rate_ring_at(const struct rate_ring *r, size_t age)
{
        if (age >= r->n)
                return NULL;
        return &r->s[(r->head + RATE_RING_MAX - 1 - age) % RATE_RING_MAX];
}

int rate_ring_reference(const struct rate_ring *r, int64_t now_ms, int64_t interval_ms,
                        size_t *ret_age)
{
        int64_t cutoff;

        if (interval_ms <= 0)
                return -EINVAL;
        cutoff = now_ms - interval_ms / 2;
        for (size_t age = 0; age < r->n; age++)
                if (rate_ring_at(r, age)->t_ms <= cutoff) {
                        *ret_age = age;
                        return 0;
                }
        return -ENODATA;
}

int rate_ring_per_minute(const struct rate_ring *r, int64_t now_ms, int64_t interval_ms,
                         double *ret)
{
        const struct rate_sample *newest = rate_ring_at(r, 0);
        uint64_t sum = 0;
        size_t ref;
        int k;

        k = rate_ring_reference(r, now_ms, interval_ms, &ref);
        if (k < 0)
                return k;
        if (ref == 0 || newest->t_ms <= rate_ring_at(r, ref)->t_ms)
                return -ENODATA; /* the reference is the newest sample: no span */
        for (size_t age = ref; age > 0; age--) {
                uint64_t before = rate_ring_at(r, age)->counter;
                uint64_t after = rate_ring_at(r, age - 1)->counter;

                sum += after >= before ? after - before : after;
        }
        *ret = (double)sum * 60000.0 / (double)(newest->t_ms - rate_ring_at(r, ref)->t_ms);
        return 0;
}
