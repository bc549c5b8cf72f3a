/* SPDX-License-Identifier: MIT */
/*
 * The pure half of scrape.h: presets, selector overrides, and deriving a runtime sample
 * from an exposition body. Every series name below is documented with its source in
 * docs/policy.md ("Runtime metric presets"); keep the two in step.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "scrape.h"
#include "util.h"

struct preset_figure {
        const char *alt[SCRAPE_ALTERNATIVES_MAX]; /* selectors, first present wins */
        bool skip_negative;
        bool int64_max_is_unset;
};

static const struct preset_figure presets[_GC_PRESET_MAX][_SCRAPE_FIGURE_MAX] = {
        /* client_golang: go_collector.go (base + memstats collectors). */
        [GC_PRESET_GO] = {
                [SCRAPE_GC_COUNT] = { { "go_gc_duration_seconds_count" } },
                [SCRAPE_HEAP_USED] = { { "go_memstats_heap_inuse_bytes" } },
                /* Exported from runtime/metrics /gc/gomemlimit:bytes by client_golang >= 1.20
                 * on Go >= 1.21 only; math.MaxInt64 when GOMEMLIMIT is unset. */
                [SCRAPE_HEAP_MAX] = { { "go_gc_gomemlimit_bytes" }, .int64_max_is_unset = true },
        },
        /* simpleclient_hotspot first, then Micrometer (and client_java 1.x) names. */
        [GC_PRESET_JVM] = {
                [SCRAPE_GC_COUNT] = { { "jvm_gc_collection_seconds_count",
                                        "jvm_gc_pause_seconds_count" } },
                [SCRAPE_HEAP_USED] = { { "jvm_memory_bytes_used{area=\"heap\"}",
                                         "jvm_memory_used_bytes{area=\"heap\"}" } },
                /* A pool without a defined maximum reports -1. */
                [SCRAPE_HEAP_MAX] = { { "jvm_memory_bytes_max{area=\"heap\"}",
                                        "jvm_memory_max_bytes{area=\"heap\"}" },
                                      .skip_negative = true },
        },
        /* prometheus-net DotNetStats. A gen-N collection also collects (and counts for) every
         * younger generation, so generation 0 alone counts every GC; summing would overcount. */
        [GC_PRESET_DOTNET] = {
                [SCRAPE_GC_COUNT] = { { "dotnet_collection_count_total{generation=\"0\"}" } },
                [SCRAPE_HEAP_USED] = { { "dotnet_total_memory_bytes" } },
        },
        /* prom-client default metrics: gc.js, heapSizeAndUsed.js. */
        [GC_PRESET_NODEJS] = {
                [SCRAPE_GC_COUNT] = { { "nodejs_gc_duration_seconds_count" } },
                [SCRAPE_HEAP_USED] = { { "nodejs_heap_size_used_bytes" } },
        },
        /* prometheus_client gc_collector.py: one collection is counted in one generation. */
        [GC_PRESET_PYTHON] = {
                [SCRAPE_GC_COUNT] = { { "python_gc_collections_total" } },
        },
};

static const char *const figure_names[_SCRAPE_FIGURE_MAX] = {
        [SCRAPE_GC_COUNT] = "gc_count",
        [SCRAPE_HEAP_USED] = "heap_used",
        [SCRAPE_HEAP_MAX] = "heap_max",
};

const char *scrape_figure_to_string(enum scrape_figure f)
{
        return (unsigned)f < _SCRAPE_FIGURE_MAX ? figure_names[f] : NULL;
}

static int figure_from_preset(const struct preset_figure *pf, struct scrape_figure_spec *ret)
{
        struct scrape_figure_spec fs = { .int64_max_is_unset = pf->int64_max_is_unset };

        for (size_t i = 0; i < SCRAPE_ALTERNATIVES_MAX && pf->alt[i]; i++) {
                if (promtext_selector_parse(pf->alt[i], &fs.alt[i]) < 0)
                        return -EINVAL;
                fs.alt[i].skip_negative = pf->skip_negative;
                fs.n_alt++;
        }
        *ret = fs;
        return 0;
}

/* An override replaces every alternative of its figure with the one selector given. */
static int figure_from_override(const char *selector, struct scrape_figure_spec *ret)
{
        struct scrape_figure_spec fs = { .n_alt = 1 };

        if (promtext_selector_parse(selector, &fs.alt[0]) < 0)
                return -EINVAL;
        *ret = fs;
        return 0;
}

int scrape_spec_build(enum gc_preset preset, const char *gc_count_metric,
                      const char *heap_used_metric, const char *heap_max_metric,
                      struct scrape_spec *ret)
{
        const char *overrides[_SCRAPE_FIGURE_MAX] = { gc_count_metric, heap_used_metric,
                                                      heap_max_metric };
        struct scrape_spec spec = { 0 };
        int r;

        if ((unsigned)preset >= _GC_PRESET_MAX)
                return -EINVAL;
        for (size_t f = 0; f < _SCRAPE_FIGURE_MAX; f++) {
                if (overrides[f])
                        r = figure_from_override(overrides[f], &spec.fig[f]);
                else
                        r = figure_from_preset(&presets[preset][f], &spec.fig[f]);
                if (r < 0)
                        return r;
        }
        *ret = spec;
        return 0;
}

int scrape_spec_from_target(const struct policy_target *t, struct scrape_spec *ret)
{
        return scrape_spec_build(t->gc_preset, t->gc_count_metric, t->heap_used_metric,
                                 t->heap_max_metric, ret);
}

/* Appends "; "-separated printf text to a bounded reason string. */
static void reason_add(char *reason, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void reason_add(char *reason, size_t size, const char *fmt, ...)
{
        size_t n = strnlen(reason, size);
        va_list ap;

        if (n + 1 >= size)
                return;
        if (n > 0) {
                snprintf(reason + n, size - n, "; ");
                n = strnlen(reason, size);
        }
        va_start(ap, fmt);
        vsnprintf(reason + n, size - n, fmt, ap);
        va_end(ap);
}

/* Picks one figure from the summed alternatives; false (with a reason) when it has none. */
static bool pick_figure(const struct scrape_figure_spec *fs, const struct promtext_result *res,
                        const char *name, char *reason, size_t size, double *ret)
{
        for (size_t a = 0; a < fs->n_alt; a++) {
                double v = res[a].sum;

                if (res[a].n_samples == 0)
                        continue;
                if (!isfinite(v)) {
                        reason_add(reason, size, "%s is %s (%s)", name,
                                   isnan(v) ? "NaN" : "infinite", fs->alt[a].name);
                        return false;
                }
                if (v < 0) {
                        reason_add(reason, size, "%s is negative (%s)", name, fs->alt[a].name);
                        return false;
                }
                if (fs->int64_max_is_unset && v >= (double)INT64_MAX)
                        return false; /* "no limit" is not a figure, and not a problem either */
                *ret = v;
                return true;
        }
        reason_add(reason, size, "absent: %s (%s%s%s)", name, fs->alt[0].name,
                   fs->n_alt > 1 ? " or " : "", fs->n_alt > 1 ? fs->alt[1].name : "");
        return false;
}

static void set_figure(struct runtime_sample *rs, enum scrape_figure f, double v)
{
        switch (f) {
        case SCRAPE_GC_COUNT:
                rs->has_gc_count = true;
                rs->gc_count = v;
                break;
        case SCRAPE_HEAP_USED:
                rs->has_heap_used = true;
                rs->heap_used_bytes = v;
                break;
        default:
                rs->has_heap_max = true;
                rs->heap_max_bytes = v;
                break;
        }
}

int scrape_derive(const struct scrape_spec *spec, const char *body, size_t len,
                  enum promtext_format format, char *reason, size_t reason_size,
                  struct runtime_sample *ret)
{
        struct promtext_selector sel[_SCRAPE_FIGURE_MAX * SCRAPE_ALTERNATIVES_MAX];
        struct promtext_result res[_SCRAPE_FIGURE_MAX * SCRAPE_ALTERNATIVES_MAX];
        size_t first[_SCRAPE_FIGURE_MAX], n = 0;
        struct promtext_error err = { 0 };
        struct runtime_sample rs = { 0 };

        if (reason_size > 0)
                reason[0] = 0;
        for (size_t f = 0; f < _SCRAPE_FIGURE_MAX; f++) {
                first[f] = n;
                for (size_t a = 0; a < spec->fig[f].n_alt; a++)
                        sel[n++] = spec->fig[f].alt[a];
        }
        if (promtext_sum(body, len, format, sel, n, res, &err) < 0) {
                snprintf(reason, reason_size, "malformed exposition, line %zu: %s", err.line,
                         err.reason);
                return -EBADMSG;
        }
        for (size_t f = 0; f < _SCRAPE_FIGURE_MAX; f++) {
                double v;

                if (spec->fig[f].n_alt > 0 && pick_figure(&spec->fig[f], &res[first[f]],
                                                          figure_names[f], reason, reason_size, &v))
                        set_figure(&rs, (enum scrape_figure)f, v);
        }
        *ret = rs;
        return 0;
}

int scrape_judge(const struct scrape_spec *spec, int error, const char *reason_in, long status,
                 const char *content_type, const char *body, size_t len, char *reason,
                 size_t reason_size, struct runtime_sample *ret)
{
        char excerpt[81];

        *ret = (struct runtime_sample){ 0 };
        if (error < 0) {
                snprintf(reason, reason_size, "%s",
                         reason_in && reason_in[0] ? reason_in : strerror(-error));
                return error;
        }
        if (status < 200 || status > 299) {
                if (body && len > 0)
                        snprintf(reason, reason_size, "HTTP %ld: %s", status,
                                 http_body_excerpt(body, len, excerpt, sizeof(excerpt)));
                else
                        snprintf(reason, reason_size, "HTTP %ld", status);
                return -EREMOTEIO;
        }
        return scrape_derive(spec, body ? body : "", body ? len : 0,
                             promtext_format_from_content_type(content_type), reason, reason_size,
                             ret);
}
