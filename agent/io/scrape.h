/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Runtime scraping: turns a target's /metrics endpoint into a struct runtime_sample.
 *
 * The pure half maps a preset (go, jvm, ...) or the selector overrides to the exact series
 * to read (struct scrape_spec) and derives the figures from a body (scrape_derive()). The
 * I/O half runs one scrape per target per tick on the shared HTTP engine (struct scrape),
 * and a blocking scrape_once_all() serves the one-shot `sample` command.
 *
 * A figure is never invented: a failed scrape, a malformed body, a non-2xx status or an
 * absent series leaves its has_* flag false and says why in a reason string.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "promtext.h"
#include "sample.h"

struct http;

/* As Prometheus asks: Debian's client_golang and prometheus_client only serve OpenMetrics 0.0.1. */
#define SCRAPE_ACCEPT                                                                            \
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" \
        "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
#define SCRAPE_RESPONSE_MAX       (8u * 1024 * 1024) /* bytes, after decompression */
#define SCRAPE_CONNECT_TIMEOUT_MS 1000               /* capped at the target's metrics_timeout */
#define SCRAPE_ALTERNATIVES_MAX   2
#define SCRAPE_CANCELLED_REASON   "scrape still running at the next tick, cancelled"

enum scrape_figure {
        SCRAPE_GC_COUNT,  /* cumulative GC cycles */
        SCRAPE_HEAP_USED, /* bytes */
        SCRAPE_HEAP_MAX,  /* bytes */
        _SCRAPE_FIGURE_MAX,
};

/* How to read one figure: the first alternative with at least one sample wins. */
struct scrape_figure_spec {
        struct promtext_selector alt[SCRAPE_ALTERNATIVES_MAX];
        size_t n_alt; /* 0: the figure is not read (no-data by design) */
        /* A value >= 2^63-1 means "no limit" (Go's GOMEMLIMIT when unset): treat as absent. */
        bool int64_max_is_unset;
};

struct scrape_spec {
        struct scrape_figure_spec fig[_SCRAPE_FIGURE_MAX];
};

/* "gc_count", "heap_used", "heap_max"; NULL if out of range. */
const char *scrape_figure_to_string(enum scrape_figure f);

/*
 * The series of a preset, then each non-NULL override (a selector such as `name{a="v"}`)
 * replacing that figure's alternatives. Returns 0 and fills *ret, or -EINVAL when preset is
 * out of range or an override does not parse.
 */
int scrape_spec_build(enum gc_preset preset, const char *gc_count_metric,
                      const char *heap_used_metric, const char *heap_max_metric,
                      struct scrape_spec *ret);

/* scrape_spec_build() with a policy target's preset and overrides. */
int scrape_spec_from_target(const struct policy_target *t, struct scrape_spec *ret);

/*
 * Pure: reads the figures of spec from a body (len bytes) in format. Returns 0 and fills
 * *ret (absent or non-finite figures have has_* false, and are listed in reason, e.g.
 * "absent: heap_max (go_gc_gomemlimit_bytes)"; reason is "" when nothing is missing), or
 * -EBADMSG for a malformed body with reason "malformed exposition, line N: why" and *ret
 * untouched. reason gets at most reason_size bytes, NUL-terminated.
 */
int scrape_derive(const struct scrape_spec *spec, const char *body, size_t len,
                  enum promtext_format format, char *reason, size_t reason_size,
                  struct runtime_sample *ret);

/*
 * Pure: judges a finished HTTP exchange and derives the sample. error/reason_in are the
 * transfer's (0/"" when a response arrived), status its HTTP status, content_type may be
 * NULL. Any transfer error or a non-2xx status is no-data with a reason such as
 * "HTTP 500: <body excerpt>". Fills *ret (all has_* false on failure) and reason; returns 0
 * when a body was parsed, else a negative errno (-EBADMSG, -EREMOTEIO for a status,
 * or the transfer's error).
 */
int scrape_judge(const struct scrape_spec *spec, int error, const char *reason_in, long status,
                 const char *content_type, const char *body, size_t len, char *reason,
                 size_t reason_size, struct runtime_sample *ret);

/* ---- One target's scrapes, driven by the agent's loop through http_poll(). ---- */

struct scrape;

/*
 * Called once per started scrape: from http_poll() when it finished, or from scrape_start()
 * when the previous one was still running (then reason is SCRAPE_CANCELLED_REASON and rs
 * has no figures). rs and reason are valid during the call only; reason is "" when every
 * figure was read. The callback must not free sc.
 */
typedef void (*scrape_done_fn)(struct scrape *sc, const struct runtime_sample *rs,
                               const char *reason, void *userdata);

/*
 * Prepares scraping of t (copies its URL, timeout and series) on engine h, which must
 * outlive it. Returns 0 and sets *ret, -EINVAL when t has no metrics_url or a bad
 * override, -ENOMEM.
 */
int scrape_new(struct http *h, const struct policy_target *t, scrape_done_fn done, void *userdata,
               struct scrape **ret);

/* Cancels a running scrape without calling back, and frees. NULL is fine. Returns NULL. */
struct scrape *scrape_free(struct scrape *sc);

/*
 * Starts this tick's scrape. A scrape still running from the previous tick is cancelled
 * first and reported through the callback (synchronously, before this returns). Returns 0,
 * or the negative errno of http_submit() (no callback then: the caller reports no-data).
 */
int scrape_start(struct scrape *sc);

/*
 * Cancels a running scrape and reports it through the callback (synchronously) as no-data
 * with SCRAPE_CANCELLED_REASON. Nothing happens when none is running.
 */
void scrape_cancel(struct scrape *sc);

/* True while a started scrape has not called back. */
bool scrape_running(const struct scrape *sc);

/*
 * Blocking, for the one-shot `sample` command: scrapes every target of p that has a
 * metrics_url concurrently on a private engine and waits until all finished (each within
 * its metrics_timeout). samples[i] (p->n_targets pointers) belongs to p->targets[i]: its
 * runtime and runtime_error are set; targets without metrics_url, or with a NULL pointer,
 * are left untouched. Returns 0, or -ENOMEM/-EIO when the engine itself failed (samples
 * may then be partly filled).
 */
int scrape_once_all(const struct policy *p, struct sample *const *samples);
