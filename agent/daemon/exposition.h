/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's /metrics text (Prometheus text format 0.0.4): every family named in one
 * table, the figure gauges taken from the metric registry, each family's HELP and TYPE
 * once, then its samples for every batch.
 */

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

#define EXPOSITION_TICK_BUCKETS 9

/* oombreaker_tick_duration_seconds{batch}: time spent sampling one batch's ticks. Each
 * batch holds its own (struct batch), so counting a tick allocates nothing. */
struct tick_stats {
        uint64_t buckets[EXPOSITION_TICK_BUCKETS]; /* cumulative, as Prometheus wants them */
        uint64_t count;
        double sum_s;
};

/* Counts one tick that took seconds. */
void tick_stats_record(struct tick_stats *t, double seconds);

/*
 * The exposition of n batches, their tick histograms included. Returns a malloc'd
 * NUL-terminated text, or NULL when out of memory.
 */
char *exposition_text(struct batch *const *batches, size_t n);
