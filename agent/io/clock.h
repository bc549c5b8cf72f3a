/* SPDX-License-Identifier: MIT */
#pragma once

/* The monotonic clock: the only place outside the commands that reads time. The core never
 * includes this; it is handed times as values. */

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds: every deadline, tick and timing in the agent uses it. */
static inline uint64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline int64_t mono_ms(void)
{
        return (int64_t)(mono_ns() / 1000000u);
}
