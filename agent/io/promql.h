/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PromQL instant queries against a Prometheus server's HTTP API (GET /api/v1/query).
 *
 * The pure half builds the query URL and judges a finished exchange (transfer error, HTTP
 * status, the JSON envelope) into a list of series. The I/O half runs a query on the shared
 * HTTP engine (the loop's, non-blocking) or on a private one (blocking, for commands).
 * No logging: failures come back as a reason string.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "sample.h"

struct http;

#define PROMQL_RESPONSE_MAX (4u * 1024 * 1024) /* bytes of a query's answer */
#define PROMQL_SERIES_MAX   10000              /* series kept from one answer */
#define PROMQL_LABELS_MAX   32                 /* labels kept per series */
#define PROMQL_REASON_MAX   256

struct promql_label {
        char *name;
        char *value;
};

/* One sample of an instant vector (or the scalar answer, with no labels). */
struct promql_series {
        struct promql_label *labels;
        size_t n_labels;
        double value; /* may be NaN or infinite, as Prometheus sent it */
        int64_t t_ms; /* the evaluation time Prometheus stamped it with */
};

struct promql_result {
        struct promql_series *v;
        size_t n;
};

/* Releases the series of r and empties it. */
void promql_result_clear(struct promql_result *r);

/* A series' label value, or NULL when it has no such label. */
const char *promql_label(const struct promql_series *s, const char *name);

/*
 * base (http://host:port, optionally with a path prefix; a trailing '/' is dropped) and a
 * PromQL expression, percent-encoded: "BASE/api/v1/query?query=EXPR". Returns 0 and *ret
 * (caller frees), -EINVAL for an empty base or expression, -ENOMEM.
 */
int promql_query_url(const char *base, const char *expr, char **ret);

/*
 * Pure: judges a finished exchange. error/reason_in are the transfer's (0/"" when a
 * response arrived), status its HTTP status. Prometheus' own errors (a bad expression:
 * HTTP 400 with {"status":"error","error":...}) come back as their message. Returns 0 and
 * fills *ret (the caller clears it), or a negative errno with reason set (-EREMOTEIO for
 * Prometheus' error or a non-2xx status, -EBADMSG for a body that is not its JSON, the
 * transfer's error otherwise). reason gets at most reason_size bytes, NUL-terminated.
 */
int promql_judge(int error, const char *reason_in, long status, const char *body, size_t len,
                 struct promql_result *ret, char *reason, size_t reason_size);

struct promql_call;

/*
 * Called once per finished query from http_poll(): r >= 0 with res filled (the callee may
 * take res's series by moving them out; the rest is cleared after), or r < 0 with reason.
 */
typedef void (*promql_done_fn)(struct promql_call *call, int r, struct promql_result *res,
                               const char *reason);

/* One query in flight, owned by the caller; it must outlive the request (or cancel it). */
struct promql_call {
        promql_done_fn done;
        void *userdata;
        uint64_t id; /* of the running request, 0 when idle; set by promql_start() */
};

/*
 * Starts a query (a URL from promql_query_url()) on engine h; the whole transfer is bounded
 * by timeout_ms. Returns 0 and sets call->id (http_cancel() it to abort; no callback then),
 * or http_submit()'s errno.
 */
int promql_start(struct http *h, const char *url, uint64_t timeout_ms, struct promql_call *call);

/*
 * Blocking, for commands: one query on a private engine, within timeout_ms. Returns 0 and
 * *ret (caller clears), or a negative errno with reason set (as promql_judge()).
 */
int promql_query(const char *url, uint64_t timeout_ms, struct promql_result *ret, char *reason,
                 size_t reason_size);

/* ---- A [target] whose figures come from PromQL (promql-source.c). ---- */

/*
 * Pure: the one value of an answer that must hold exactly one sample, as bytes. Returns 0
 * and *ret, or -ENODATA with reason ("query returned 3 series; wrap it in sum()", "query
 * returned no series", "query returned NaN").
 */
int promql_single_bytes(const struct promql_result *r, uint64_t *ret, char *reason, size_t size);

struct promql_source;

/*
 * Called once per started tick: from http_poll() when both queries finished, or from
 * promql_source_start()/promql_source_cancel() when a tick's queries were cut short. m is
 * the working set (as current, with inactive_file 0) and the limit (promql_limit's answer,
 * or "max" so that memory_limit applies); reason says what is missing, "" when nothing.
 */
typedef void (*promql_source_done_fn)(struct promql_source *src, const struct mem_sample *m,
                                      const char *reason, void *userdata);

/* Prepares the queries of a promql target t on engine h (which must outlive it). Returns 0
 * and *ret, -EINVAL when t is not a promql target, -ENOMEM. */
int promql_source_new(struct http *h, const struct policy_target *t, promql_source_done_fn done,
                      void *userdata, struct promql_source **ret);

/* Cancels running queries without calling back, and frees. NULL is fine. Returns NULL. */
struct promql_source *promql_source_free(struct promql_source *src);

/* Starts this tick's queries (a tick still running is cancelled and reported first).
 * Returns 0, or http_submit()'s errno (no callback then). */
int promql_source_start(struct promql_source *src);

/* Cancels a running tick and reports it as no-data; nothing when none runs. */
void promql_source_cancel(struct promql_source *src);

/* Blocking, for `sample`: one tick's queries on a private engine. Fills *ret and reason
 * (as the callback would). Returns 0, or -ENOMEM. */
int promql_source_once(const struct policy_target *t, struct mem_sample *ret, char *reason,
                       size_t size);
