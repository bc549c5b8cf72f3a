/* SPDX-License-Identifier: MIT */
#include "tick-stats.h"

const double tick_stats_bounds_s[TICK_STATS_BUCKETS] = { 0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                         0.05,   0.1,    0.5,   1 };

void tick_stats_record(struct tick_stats *t, double seconds)
{
        for (size_t i = 0; i < TICK_STATS_BUCKETS; i++)
                if (seconds <= tick_stats_bounds_s[i])
                        t->buckets[i]++;
        t->count++;
        t->sum_s += seconds;
}
