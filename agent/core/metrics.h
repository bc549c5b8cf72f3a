/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The metric registry. Each condition metric is named once, in metrics.def: its unit, its
 * source, its [rule] key, its status key, its /metrics family and the trace fields it is
 * computed from. Each trace field (an input of struct sample) is named once, in metrics.c.
 * Rules, policy keys, check, status, replay, trace and /metrics look them up here.
 */

#include <stdbool.h>
#include <stddef.h>

#define METRIC_PIB (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0)

/* The inputs of a sample, in trace order: what a trace line's "memory" and "runtime" hold. */
enum metric_input {
        METRIC_INPUT_CURRENT,
        METRIC_INPUT_MAX,
        METRIC_INPUT_INACTIVE_FILE,
        METRIC_INPUT_ANON,
        METRIC_INPUT_OOM_KILL,
        METRIC_INPUT_FAILCNT,
        METRIC_INPUT_PSI_SOME_AVG10,
        METRIC_INPUT_PSI_FULL_AVG10,
        METRIC_INPUT_PSI_SOME_TOTAL,
        METRIC_INPUT_PSI_FULL_TOTAL,
        METRIC_INPUT_GC_COUNT,
        METRIC_INPUT_HEAP_USED,
        METRIC_INPUT_HEAP_MAX,
        _METRIC_INPUT_MAX,
};

#define METRIC_IN(name) (1u << METRIC_INPUT_##name)

/* Conditions a [rule] may hold, one per row of metrics.def. */
enum cond_metric {
#define METRIC(id, ...) id,
#include "metrics.def"
#undef METRIC
        _COND_MAX,
};

enum metric_unit {
        METRIC_UNIT_RATIO,            /* 0..1 */
        METRIC_UNIT_BYTES,            /* bytes */
        METRIC_UNIT_BYTES_PER_MINUTE, /* bytes per minute */
        METRIC_UNIT_PER_MINUTE,       /* events per minute */
        METRIC_UNIT_COUNT,            /* a whole number of events */
        METRIC_UNIT_PERCENT,          /* 0..100 */
        METRIC_UNIT_MS,               /* milliseconds (a duration) */
        _METRIC_UNIT_MAX,
};

enum metric_source {
        METRIC_SOURCE_CGROUP,  /* the cgroup's memory files */
        METRIC_SOURCE_PSI,     /* the cgroup's memory.pressure */
        METRIC_SOURCE_RUNTIME, /* the runtime's metrics endpoint (metrics_url) */
        _METRIC_SOURCE_MAX,
};

enum metric_cmp {
        METRIC_ABOVE,    /* breaches when the value is > the threshold */
        METRIC_AT_LEAST, /* breaches when the value is >= the threshold */
        METRIC_BELOW,    /* breaches when the value is > 0 and < the threshold */
        _METRIC_CMP_MAX,
};

struct metric_def {
        const char *name; /* in trip reasons, the state file, logs and replay */
        enum metric_unit unit;
        enum metric_source source;
        enum metric_cmp cmp;
        const char *rule_key; /* its [rule] key */
        double key_min;       /* the key's accepted range, inclusive, in unit */
        double key_max;
        const char *status_key; /* the figure's key in status JSON */
        const char *family;     /* its /metrics gauge family, or NULL when not exported */
        const char *help;       /* one sentence: the family's HELP */
        unsigned inputs;        /* METRIC_IN() of the trace fields its figure is computed from */
};

enum metric_value {
        METRIC_VALUE_U64,   /* uint64_t */
        METRIC_VALUE_REAL,  /* double */
        METRIC_VALUE_LIMIT, /* uint64_t, or "no limit" (null in a trace) */
};

struct metric_input_def {
        const char *section; /* "memory" or "runtime" */
        const char *field;   /* the trace field */
        enum metric_value value;
        enum metric_source source;
        size_t has_offset;   /* of its bool has_* in struct sample */
        size_t value_offset; /* of its value in struct sample */
        bool detail; /* rides along with has_offset set by an earlier input; never sets it */
};

/* The row of metric m; NULL when m is out of range. */
const struct metric_def *metric_get(enum cond_metric m);

/* The metric named name (metric_def.name); -ENOENT when none is. */
int metric_from_name(const char *name);

/* The row of input i; NULL when i is out of range. */
const struct metric_input_def *metric_input_get(enum metric_input i);

/* Whether value breaches threshold under m's comparison. */
bool metric_breaches(enum cond_metric m, double value, double threshold);

/* ">", ">=" or "<", as messages print m's comparison. */
const char *metric_cmp_op(enum cond_metric m);

/*
 * Formats a value of metric m for people, in its unit: "51.5 MiB", "12 MiB/min", "0.92",
 * "3", "42s". Writes at most size bytes to buf, NUL-terminated.
 */
void metric_format_value(enum cond_metric m, double v, char *buf, size_t size);

/* "memory_ratio", ...: metric_get(m)->name; NULL if out of range. */
const char *cond_metric_to_string(enum cond_metric m);

/* "memory_ratio_above", ...: metric_get(m)->rule_key; NULL if out of range. */
const char *cond_metric_key(enum cond_metric m);
