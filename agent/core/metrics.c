/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "sample.h"
#include "units.h"

static const struct metric_def defs[_COND_MAX] = {
#define METRIC(id_, name_, unit_, source_, cmp_, key_, min_, max_, status_, family_, help_, \
               inputs_)                                                                     \
        [id_] = { .name = name_,                                                            \
                  .unit = unit_,                                                            \
                  .source = source_,                                                        \
                  .cmp = cmp_,                                                              \
                  .rule_key = key_,                                                         \
                  .key_min = min_,                                                          \
                  .key_max = max_,                                                          \
                  .status_key = status_,                                                    \
                  .family = family_,                                                        \
                  .help = help_,                                                            \
                  .inputs = inputs_ },
#include "metrics.def"
#undef METRIC
};

#define MEM(f) offsetof(struct sample, memory.f)
#define RT(f)  offsetof(struct sample, runtime.f)
#define CG     METRIC_SOURCE_CGROUP
#define U64    METRIC_VALUE_U64
#define REAL   METRIC_VALUE_REAL
#define IN_MEM(field, value, source, has, v)                            \
        {                                                               \
                "memory", field, value, source, MEM(has), MEM(v), false \
        }

static const struct metric_input_def inputs[_METRIC_INPUT_MAX] = {
        [METRIC_INPUT_CURRENT] = IN_MEM("current", U64, CG, has_current, current_bytes),
        [METRIC_INPUT_MAX] = IN_MEM("max", METRIC_VALUE_LIMIT, CG, has_max, max_bytes),
        [METRIC_INPUT_INACTIVE_FILE] =
                IN_MEM("inactive_file", U64, CG, has_inactive_file, inactive_file_bytes),
        [METRIC_INPUT_ANON] = IN_MEM("anon", U64, CG, has_anon, anon_bytes),
        [METRIC_INPUT_OOM_KILL] = IN_MEM("oom_kill", U64, CG, has_oom_kill, oom_kill),
        [METRIC_INPUT_FAILCNT] = IN_MEM("failcnt", U64, CG, has_failcnt, failcnt),
        [METRIC_INPUT_PSI_SOME_AVG10] =
                IN_MEM("psi_some_avg10", REAL, METRIC_SOURCE_PSI, has_psi_some, psi_some_avg10_pct),
        [METRIC_INPUT_PSI_FULL_AVG10] =
                IN_MEM("psi_full_avg10", REAL, METRIC_SOURCE_PSI, has_psi_full, psi_full_avg10_pct),
        /* The totals come with their avg10 (one memory.pressure line holds both). */
        [METRIC_INPUT_PSI_SOME_TOTAL] = { "memory", "psi_some_total", U64, METRIC_SOURCE_PSI,
                                          MEM(has_psi_some), MEM(psi_some_total_us), true },
        [METRIC_INPUT_PSI_FULL_TOTAL] = { "memory", "psi_full_total", U64, METRIC_SOURCE_PSI,
                                          MEM(has_psi_full), MEM(psi_full_total_us), true },
        [METRIC_INPUT_GC_COUNT] = { "runtime", "gc_count", REAL, METRIC_SOURCE_RUNTIME,
                                    RT(has_gc_count), RT(gc_count) },
        [METRIC_INPUT_HEAP_USED] = { "runtime", "heap_used", REAL, METRIC_SOURCE_RUNTIME,
                                     RT(has_heap_used), RT(heap_used_bytes) },
        [METRIC_INPUT_HEAP_MAX] = { "runtime", "heap_max", REAL, METRIC_SOURCE_RUNTIME,
                                    RT(has_heap_max), RT(heap_max_bytes) },
};

const struct metric_def *metric_get(enum cond_metric m)
{
        return (unsigned)m < _COND_MAX ? &defs[m] : NULL;
}

int metric_from_name(const char *name)
{
        for (int m = 0; m < _COND_MAX; m++)
                if (strcmp(defs[m].name, name) == 0)
                        return m;
        return -ENOENT;
}

const struct metric_input_def *metric_input_get(enum metric_input i)
{
        return (unsigned)i < _METRIC_INPUT_MAX ? &inputs[i] : NULL;
}

bool metric_breaches(enum cond_metric m, double value, double threshold)
{
        switch (defs[m].cmp) {
        case METRIC_AT_LEAST:
                return value >= threshold;
        case METRIC_BELOW: /* <= 0 is at or past the line's crossing, not a coming one */
                return value > 0 && value < threshold;
        default:
                return value > threshold;
        }
}

const char *metric_cmp_op(enum cond_metric m)
{
        return defs[m].cmp == METRIC_AT_LEAST ? ">=" : defs[m].cmp == METRIC_BELOW ? "<" : ">";
}

const char *cond_metric_to_string(enum cond_metric m)
{
        return (unsigned)m < _COND_MAX ? defs[m].name : NULL;
}

const char *cond_metric_key(enum cond_metric m)
{
        return (unsigned)m < _COND_MAX ? defs[m].rule_key : NULL;
}

void metric_format_value(enum cond_metric m, double v, char *buf, size_t size)
{
        const struct metric_def *d = metric_get(m);
        bool bytes = d && (d->unit == METRIC_UNIT_BYTES || d->unit == METRIC_UNIT_BYTES_PER_MINUTE);

        if (d && d->unit == METRIC_UNIT_MS && v >= 0 && v < 1e15) {
                units_format_duration((uint64_t)v, buf, size);
                return;
        }
        if (!bytes || !(v >= 0) || v >= 18446744073709551616.0) {
                snprintf(buf, size, "%.4g", v);
                return;
        }
        units_format_size_approx((uint64_t)v, buf, size);
        if (d->unit == METRIC_UNIT_BYTES_PER_MINUTE)
                snprintf(buf + strlen(buf), size - strlen(buf), "/min");
}
