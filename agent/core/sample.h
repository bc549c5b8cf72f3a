/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One instance's inputs at one tick: what the cgroup sampler and the runtime scraper
 * produced, and exactly what a trace line holds. Every figure has a has_* flag: a
 * missing figure is no-data, never zero.
 */

#include <stdbool.h>
#include <stdint.h>

struct mem_sample {
        bool has_current;
        uint64_t current_bytes; /* v2 memory.current, v1 memory.usage_in_bytes */
        bool has_max;           /* false: unknown; true with max_unlimited: "max" */
        bool max_unlimited;
        uint64_t max_bytes; /* valid when has_max && !max_unlimited */
        bool has_inactive_file;
        uint64_t inactive_file_bytes; /* v2 inactive_file, v1 total_inactive_file */
        bool has_anon;
        uint64_t anon_bytes; /* v2 anon, v1 total_rss */
        bool has_oom_kill;
        uint64_t oom_kill; /* cumulative counter */
        bool has_failcnt;
        uint64_t failcnt; /* v1 only */
        /* memory.pressure: each line stands alone, so a rule on "some" needs only "some" */
        bool has_psi_some;
        double psi_some_avg10_pct;
        uint64_t psi_some_total_us;
        bool has_psi_full;
        double psi_full_avg10_pct;
        uint64_t psi_full_total_us;
};

struct runtime_sample {
        bool has_gc_count;
        double gc_count; /* cumulative GC cycles */
        bool has_heap_used;
        double heap_used_bytes;
        bool has_heap_max;
        double heap_max_bytes;
};

#define SAMPLE_REASON_MAX 256

struct sample {
        int64_t t_ms; /* monotonic milliseconds since the agent (or the trace) started */
        bool event;   /* an event tick (a kernel event brought it forward); traced as "event" */
        struct mem_sample memory;
        struct runtime_sample runtime;
        /* Why figures are missing, for humans; empty when nothing is. Not part of traces. */
        char memory_error[SAMPLE_REASON_MAX];
        char runtime_error[SAMPLE_REASON_MAX];
};

/* Working set = current - inactive_file (clamped at 0). Returns false when either is missing. */
static inline bool sample_working_set(const struct mem_sample *m, uint64_t *ret_bytes)
{
        if (!m->has_current || !m->has_inactive_file)
                return false;
        *ret_bytes = m->current_bytes > m->inactive_file_bytes
                             ? m->current_bytes - m->inactive_file_bytes
                             : 0;
        return true;
}
