/* SPDX-License-Identifier: MIT */
/* PromQL instant queries: the URL, the JSON answer, and running one (promql.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "http.h"
#include "promql.h"
#include "promtext.h"
#include "util.h"

void promql_result_clear(struct promql_result *r)
{
        for (size_t i = 0; r->v && i < r->n; i++) {
                for (size_t j = 0; j < r->v[i].n_labels; j++) {
                        free(r->v[i].labels[j].name);
                        free(r->v[i].labels[j].value);
                }
                free(r->v[i].labels);
        }
        free(r->v);
        *r = (struct promql_result){ 0 };
}

const char *promql_label(const struct promql_series *s, const char *name)
{
        for (size_t i = 0; i < s->n_labels; i++)
                if (strcmp(s->labels[i].name, name) == 0)
                        return s->labels[i].value;
        return NULL;
}

int promql_query_url(const char *base, const char *expr, char **ret)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t blen = base ? strlen(base) : 0, n = 0;
        char *url;

        while (blen > 0 && base[blen - 1] == '/')
                blen--;
        if (blen == 0 || !expr || !expr[0])
                return -EINVAL;
        url = malloc(blen + sizeof("/api/v1/query?query=") + 3 * strlen(expr));
        if (!url)
                return -ENOMEM;
        n = (size_t)sprintf(url, "%.*s/api/v1/query?query=", (int)blen, base);
        for (const unsigned char *p = (const unsigned char *)expr; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
                        url[n++] = (char)*p;
                } else {
                        url[n++] = '%';
                        url[n++] = hex[*p >> 4];
                        url[n++] = hex[*p & 15];
                }
        }
        url[n] = '\0';
        *ret = url;
        return 0;
}

/* A sample pair [unix seconds, "value"] into s. 0 or -EBADMSG. */
static int parse_point(json_t *pair, struct promql_series *s)
{
        const char *v = json_string_value(json_array_get(pair, 1));
        json_t *t = json_array_get(pair, 0);

        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(t) || !v)
                return -EBADMSG;
        s->t_ms = (int64_t)llround(json_number_value(t) * 1000.0);
        if (promtext_number_float(v, strlen(v), &s->value) < 0)
                return -EBADMSG;
        return 0;
}

static int parse_labels(json_t *metric, struct promql_series *s)
{
        const char *k;
        json_t *v;

        if (!json_is_object(metric))
                return -EBADMSG;
        s->labels = calloc(json_object_size(metric) + 1, sizeof(*s->labels));
        if (!s->labels)
                return -ENOMEM;
        json_object_foreach(metric, k, v)
        {
                struct promql_label *l = &s->labels[s->n_labels];

                if (!json_is_string(v))
                        return -EBADMSG;
                if (s->n_labels >= PROMQL_LABELS_MAX)
                        break;
                l->name = strdup(k);
                l->value = strdup(json_string_value(v));
                s->n_labels++;
                if (!l->name || !l->value)
                        return -ENOMEM;
        }
        return 0;
}

/* data.result of a vector or scalar answer into *ret. */
static int parse_data(json_t *data, struct promql_result *ret, char *reason, size_t size)
{
        const char *type = json_string_value(json_object_get(data, "resultType"));
        json_t *result = json_object_get(data, "result"), *el;
        size_t i;
        int r;

        if (type && strcmp(type, "scalar") == 0) {
                ret->v = calloc(1, sizeof(*ret->v));
                if (!ret->v)
                        return -ENOMEM;
                ret->n = 1;
                r = parse_point(result, &ret->v[0]);
                if (r < 0)
                        snprintf(reason, size, "Prometheus sent a malformed scalar");
                return r;
        }
        if (!type || strcmp(type, "vector") != 0 || !json_is_array(result)) {
                snprintf(reason, size, "the query returned a %s, not an instant vector",
                         type ? type : "result without a type");
                return -EBADMSG;
        }
        ret->v = calloc(json_array_size(result) + 1, sizeof(*ret->v));
        if (!ret->v)
                return -ENOMEM;
        json_array_foreach(result, i, el)
        {
                if (i >= PROMQL_SERIES_MAX)
                        break;
                ret->n++;
                r = parse_labels(json_object_get(el, "metric"), &ret->v[i]);
                if (r >= 0)
                        r = parse_point(json_object_get(el, "value"), &ret->v[i]);
                if (r < 0) {
                        snprintf(reason, size, "Prometheus sent a malformed series (#%zu)", i + 1);
                        return r;
                }
        }
        return 0;
}

int promql_judge(int error, const char *reason_in, long status, const char *body, size_t len,
                 struct promql_result *ret, char *reason, size_t reason_size)
{
        struct promql_result res = { 0 };
        json_t *root;
        const char *st, *msg;
        int r;

        reason[0] = '\0';
        if (error < 0) {
                snprintf(reason, reason_size, "%s", reason_in && reason_in[0] ? reason_in : "");
                return error;
        }
        root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, NULL);
        st = json_string_value(json_object_get(root, "status"));
        msg = json_string_value(json_object_get(root, "error"));
        if (st && strcmp(st, "error") == 0) {
                snprintf(reason, reason_size, "Prometheus says: %s", msg ? msg : "error");
                r = -EREMOTEIO;
        } else if (status < 200 || status > 299) {
                char excerpt[120];

                snprintf(reason, reason_size, "HTTP %ld: %s", status,
                         http_body_excerpt(body, len, excerpt, sizeof(excerpt)));
                r = -EREMOTEIO;
        } else if (!st || strcmp(st, "success") != 0) {
                snprintf(reason, reason_size, "not a Prometheus API answer (no \"status\")");
                r = -EBADMSG;
        } else {
                r = parse_data(json_object_get(root, "data"), &res, reason, reason_size);
        }
        json_decref(root);
        if (r < 0) {
                promql_result_clear(&res);
                return r;
        }
        *ret = res;
        return 0;
}

static void on_response(uint64_t id, struct http_response *resp, void *userdata)
{
        struct promql_call *c = userdata;
        struct promql_result res = { 0 };
        char reason[PROMQL_REASON_MAX];
        int r;

        (void)id;
        c->id = 0;
        r = promql_judge(resp->error, resp->reason, resp->status, resp->body, resp->body_len, &res,
                         reason, sizeof(reason));
        c->done(c, r, &res, reason);
        promql_result_clear(&res);
}

int promql_start(struct http *h, const char *url, uint64_t timeout_ms, struct promql_call *c)
{
        struct http_request_opts o = { .url = url,
                                       .accept = "application/json",
                                       .connect_timeout_ms = timeout_ms < 1000 ? timeout_ms : 1000,
                                       .timeout_ms = timeout_ms,
                                       .max_response_bytes = PROMQL_RESPONSE_MAX };

        return http_submit(h, &o, on_response, c, &c->id);
}

struct once {
        bool finished;
        int r;
        struct promql_result res;
        char reason[PROMQL_REASON_MAX];
};

static void once_done(struct promql_call *call, int r, struct promql_result *res,
                      const char *reason)
{
        struct once *o = call->userdata;

        o->finished = true;
        o->r = r;
        o->res = *res;
        *res = (struct promql_result){ 0 };
        snprintf(o->reason, sizeof(o->reason), "%s", reason);
}

int promql_query(const char *url, uint64_t timeout_ms, struct promql_result *ret, char *reason,
                 size_t reason_size)
{
        struct once o = { 0 };
        struct promql_call call = { once_done, &o, 0 };
        struct http *h = NULL;
        int64_t deadline = mono_ms() + (int64_t)timeout_ms + 1000;
        int r;

        r = http_new(&h);
        if (r >= 0)
                r = promql_start(h, url, timeout_ms, &call);
        /* libcurl enforces the timeout; the extra second only guards against a stuck engine. */
        while (r >= 0 && !o.finished && mono_ms() < deadline)
                r = http_poll(h, NULL, 0, 100);
        http_free(h); /* cancels a query that did not finish (no callback) */
        if (r >= 0 && !o.finished) {
                r = -ETIMEDOUT;
                snprintf(o.reason, sizeof(o.reason), "no answer within %llu ms",
                         (unsigned long long)timeout_ms);
        } else if (r >= 0) {
                r = o.r;
        }
        if (r < 0) {
                snprintf(reason, reason_size, "%s", o.reason[0] ? o.reason : strerror(-r));
                promql_result_clear(&o.res);
                return r;
        }
        *ret = o.res;
        return 0;
}
