/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A pure parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
 *
 * The agent never materialises a scrape: it asks for the few series it needs (a metric
 * name plus label equality matchers) and gets their sums in one pass over the body, with
 * no allocation. A malformed body fails as a whole, as it does in Prometheus: the caller
 * reports no-data with the line and the reason, never a zero.
 */

#include <stdbool.h>
#include <stddef.h>

#define PROMTEXT_NAME_MAX      128 /* metric and label names */
#define PROMTEXT_VALUE_MAX     256 /* label values in selectors */
#define PROMTEXT_MATCHERS_MAX  8
#define PROMTEXT_SELECTORS_MAX 64 /* selectors in one promtext_sum() call */

enum promtext_format {
        PROMTEXT_FORMAT_TEXT,        /* text/plain; version=0.0.4 */
        PROMTEXT_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
        _PROMTEXT_FORMAT_MAX,
};

struct promtext_matcher {
        char name[PROMTEXT_NAME_MAX + 1];
        char value[PROMTEXT_VALUE_MAX + 1]; /* unescaped */
};

/* Selects the samples of one metric name whose labels include every matcher. */
struct promtext_selector {
        char name[PROMTEXT_NAME_MAX + 1]; /* exact sample name, e.g. go_gc_duration_seconds_count */
        struct promtext_matcher matchers[PROMTEXT_MATCHERS_MAX];
        size_t n_matchers;
        bool skip_negative; /* ignore samples < 0 (JVM reports -1 for an undefined max) */
};

struct promtext_result {
        size_t n_samples; /* samples that matched; 0 means the series is absent */
        double sum;       /* sum of the matching samples' values (NaN propagates) */
};

struct promtext_error {
        size_t line;      /* 1-based line of the problem, 0 if it concerns the whole body */
        char reason[160]; /* e.g. "invalid label value escape" */
};

/*
 * Parses a selector such as `name`, `name{a="x"}` or `name{a="x",b="y"}` (equality only).
 * Returns 0 and fills *ret, or -EINVAL.
 */
int promtext_selector_parse(const char *s, struct promtext_selector *ret);

/*
 * Parses the whole body (len bytes, need not be NUL-terminated) in the given format and
 * sums, for each of the n selectors, the samples it selects into results[i]. Returns 0,
 * or -EBADMSG with *ret_err filled when the body is malformed (results are then
 * undefined), or -EINVAL if n > PROMTEXT_SELECTORS_MAX. No allocation (about 100 KiB of
 * stack); locale-independent. Hard caps, each a -EBADMSG: 6144 text-format metric families,
 * 128 labels per sample, 1024-byte numbers, 65535-byte metric names, 4 GiB bodies.
 */
int promtext_sum(const char *body, size_t len, enum promtext_format format,
                 const struct promtext_selector *selectors, size_t n,
                 struct promtext_result *results, struct promtext_error *ret_err);

/*
 * Checks that [s, s+len) is a float (a sample value of the exposition formats, or of the
 * Prometheus HTTP API's JSON) in Go's strconv.ParseFloat syntax as Prometheus restricts
 * it (decimal only, no hex, no `_`; NaN, Inf, Infinity in any case, a sign on Inf only).
 * Overflow is an error, as in Go; underflow rounds to zero. Writes *ret_value only if ret_value
 * is not NULL (converting costs more than checking). Returns 0 or -EINVAL.
 */
int promtext_number_float(const char *s, size_t len, double *ret_value);

/* Picks the format from a Content-Type header value (NULL or unknown: text 0.0.4). */
enum promtext_format promtext_format_from_content_type(const char *content_type);
