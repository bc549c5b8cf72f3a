/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Trace lines (JSON Lines, one object per instance per tick), as docs/trace.md
 * defines them. `sample --json` prints the same objects, `run --trace` appends them and
 * `replay` reads them back.
 */

#include <stddef.h>
#include <stdio.h>

#include "forecast.h"
#include "policy.h"
#include "sample.h"

#define TRACE_LINE_MAX 4096

/*
 * Besides the samples, a line carries "memory_error" and "runtime_error" (strings, only when
 * set): why the cgroup or the scrape gave no data, such as a rejected OpenMetrics body.
 * trace_parse() ignores them: a replay judges the samples alone. Likewise "forecast" (when fc
 * is not NULL): the forecast the rule saw at that tick, which replay recomputes exactly from
 * the samples (docs/trace.md).
 *
 * Writes one trace object for (batch, instance, s) as a single line ending in '\n' to f.
 * Returns 0 or -errno (-EIO when the stream failed).
 */
int trace_write(FILE *f, const char *batch, const char *instance, const struct sample *s,
                const struct forecast_view *fc);

/*
 * Formats the same object into buf (NUL-terminated, no newline). Returns the length, or
 * -ENOBUFS when buf is too small, -ENOMEM.
 */
int trace_format(char *buf, size_t size, const char *batch, const char *instance,
                 const struct sample *s, const struct forecast_view *fc);

/*
 * Parses one trace line. On success fills *ret (fields absent from the line are no-data),
 * and copies batch and instance (each at most POLICY_NAME_MAX chars; "*" allowed). Returns
 * 0, or -EINVAL with a short reason in err (errsize bytes) for a malformed line.
 */
int trace_parse(const char *line, size_t len, char ret_batch[POLICY_NAME_MAX + 1],
                char ret_instance[POLICY_NAME_MAX + 1], struct sample *ret, char *err,
                size_t errsize);
