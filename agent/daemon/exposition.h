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

/*
 * The exposition of n batches, their tick histograms included. Returns a malloc'd
 * NUL-terminated text, or NULL when out of memory.
 */
char *exposition_text(struct batch *const *batches, size_t n);
