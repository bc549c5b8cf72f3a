/* SPDX-License-Identifier: MIT */
/* A [target] whose memory figures come from PromQL instant queries (promql.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "promql.h"
#include "util.h"

#define Q_WS    0
#define Q_LIMIT 1

int promql_single_bytes(const struct promql_result *r, uint64_t *ret, char *reason, size_t size)
{
        double v;

        if (r->n != 1) {
                if (r->n == 0)
                        snprintf(reason, size, "query returned no series");
                else
                        snprintf(reason, size, "query returned %zu series; wrap it in sum()", r->n);
                return -ENODATA;
        }
        v = r->v[0].value;
        if (!isfinite(v) || v < 0 || v >= 18446744073709551616.0) {
                snprintf(reason, size, "query returned %g, not a size in bytes", v);
                return -ENODATA;
        }
        *ret = (uint64_t)v;
        return 0;
}

struct promql_source {
        struct http *http;
        char *url[2]; /* Q_WS, Q_LIMIT (NULL: no promql_limit) */
        uint64_t timeout_ms;
        struct promql_call call[2];
        bool pending[2];
        struct mem_sample m;
        char reason[2][PROMQL_REASON_MAX];
        promql_source_done_fn done;
        void *userdata;
};

static void report(struct promql_source *src)
{
        char reason[2 * PROMQL_REASON_MAX + 32];

        if (src->reason[Q_WS][0] && src->reason[Q_LIMIT][0])
                snprintf(reason, sizeof(reason), "promql: %s; promql_limit: %s", src->reason[Q_WS],
                         src->reason[Q_LIMIT]);
        else if (src->reason[Q_WS][0] || src->reason[Q_LIMIT][0])
                snprintf(reason, sizeof(reason), "%s: %s",
                         src->reason[Q_WS][0] ? "promql" : "promql_limit",
                         src->reason[Q_WS][0] ? src->reason[Q_WS] : src->reason[Q_LIMIT]);
        else
                reason[0] = '\0';
        if (src->done)
                src->done(src, &src->m, reason, src->userdata);
}

static void on_answer(struct promql_call *call, int r, struct promql_result *res,
                      const char *reason)
{
        struct promql_source *src = call->userdata;
        size_t q = call == &src->call[Q_WS] ? Q_WS : Q_LIMIT;
        uint64_t v = 0;

        if (r >= 0)
                r = promql_single_bytes(res, &v, src->reason[q], sizeof(src->reason[q]));
        else
                snprintf(src->reason[q], sizeof(src->reason[q]), "%s", reason);
        if (r >= 0 && q == Q_WS) {
                src->m.has_current = src->m.has_inactive_file = true;
                src->m.current_bytes = v;
        } else if (r >= 0) {
                src->m.has_max = true;
                src->m.max_unlimited = false;
                src->m.max_bytes = v;
        } else if (q == Q_LIMIT) {
                src->m.has_max = false;
        }
        src->pending[q] = false;
        if (!src->pending[Q_WS] && !src->pending[Q_LIMIT])
                report(src);
}

int promql_source_new(struct http *h, const struct policy_target *t, promql_source_done_fn done,
                      void *userdata, struct promql_source **ret)
{
        struct promql_source *src;
        int r;

        if (t->source != TARGET_SOURCE_PROMQL || !t->promql || !t->prometheus)
                return -EINVAL;
        src = calloc(1, sizeof(*src));
        if (!src)
                return -ENOMEM;
        r = promql_query_url(t->prometheus, t->promql, &src->url[Q_WS]);
        if (r >= 0 && t->promql_limit)
                r = promql_query_url(t->prometheus, t->promql_limit, &src->url[Q_LIMIT]);
        if (r < 0) {
                promql_source_free(src);
                return r;
        }
        src->http = h;
        src->timeout_ms = t->metrics_timeout_ms ? t->metrics_timeout_ms : 2000;
        for (size_t q = 0; q < 2; q++)
                src->call[q] = (struct promql_call){ on_answer, src, 0 };
        src->done = done;
        src->userdata = userdata;
        *ret = src;
        return 0;
}

static void cancel_calls(struct promql_source *src)
{
        for (size_t q = 0; q < 2; q++) {
                if (src->pending[q] && src->call[q].id)
                        (void)http_cancel(src->http, src->call[q].id);
                src->pending[q] = false;
                src->call[q].id = 0;
        }
}

struct promql_source *promql_source_free(struct promql_source *src)
{
        if (!src)
                return NULL;
        cancel_calls(src);
        free(src->url[Q_WS]);
        free(src->url[Q_LIMIT]);
        free(src);
        return NULL;
}

void promql_source_cancel(struct promql_source *src)
{
        if (!src->pending[Q_WS] && !src->pending[Q_LIMIT])
                return;
        cancel_calls(src);
        src->m = (struct mem_sample){ 0 };
        snprintf(src->reason[Q_WS], sizeof(src->reason[Q_WS]),
                 "query still running at the next tick, cancelled");
        src->reason[Q_LIMIT][0] = '\0';
        report(src);
}

int promql_source_start(struct promql_source *src)
{
        int r = 0;

        promql_source_cancel(src);
        /* Without promql_limit the limit is "max": the target's memory_limit applies. */
        src->m = (struct mem_sample){ .has_max = true, .max_unlimited = true };
        src->reason[Q_WS][0] = src->reason[Q_LIMIT][0] = '\0';
        for (size_t q = 0; q < 2 && r >= 0; q++) {
                if (!src->url[q])
                        continue;
                r = promql_start(src->http, src->url[q], src->timeout_ms, &src->call[q]);
                src->pending[q] = r >= 0;
        }
        if (r < 0)
                cancel_calls(src);
        return r;
}

struct once {
        bool finished;
        struct mem_sample *m;
        char *reason;
        size_t size;
};

static void once_done(struct promql_source *src, const struct mem_sample *m, const char *reason,
                      void *userdata)
{
        struct once *o = userdata;

        (void)src;
        *o->m = *m;
        snprintf(o->reason, o->size, "%s", reason);
        o->finished = true;
}

int promql_source_once(const struct policy_target *t, struct mem_sample *ret, char *reason,
                       size_t size)
{
        struct once o = { false, ret, reason, size };
        struct promql_source *src = NULL;
        struct http *h = NULL;
        int r, polls = 0;

        r = http_new(&h);
        if (r >= 0)
                r = promql_source_new(h, t, once_done, &o, &src);
        if (r >= 0)
                r = promql_source_start(src);
        if (r < 0)
                snprintf(reason, size, "cannot start the query: %s", strerror(-r));
        /* libcurl ends each query within its timeout; the bound only guards a stuck engine. */
        while (r >= 0 && !o.finished && polls++ < (int)(src->timeout_ms / 100) + 20)
                r = http_poll(h, NULL, 0, 100);
        if (src && !o.finished)
                promql_source_cancel(src);
        promql_source_free(src);
        http_free(h);
        if (!o.finished)
                *ret = (struct mem_sample){ 0 };
        return r == -ENOMEM ? r : 0;
}
