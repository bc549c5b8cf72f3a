/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How long a batch's ticks take: a fixed-bucket histogram, the data behind /metrics'
 * oombreaker_tick_duration_seconds{batch}. Each batch holds its own, so counting a tick
 * allocates nothing. Pure: the caller measures, this counts.
 */

#include <stddef.h>
#include <stdint.h>

#define TICK_STATS_BUCKETS 9

/* The buckets' upper bounds in seconds, ascending (the "le" labels). */
extern const double tick_stats_bounds_s[TICK_STATS_BUCKETS];

struct tick_stats {
        uint64_t buckets[TICK_STATS_BUCKETS]; /* cumulative, as Prometheus wants them */
        uint64_t count;
        double sum_s;
};

/* Counts one tick that took seconds. */
void tick_stats_record(struct tick_stats *t, double seconds);
