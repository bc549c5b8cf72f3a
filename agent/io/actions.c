/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions-internal.h"
#include "haproxy.h"
#include "util.h"

struct actions {
        const struct policy *p;
        const struct state *s;
        struct http *http;
        const char *host;
        uint64_t http_id;       /* in-flight webhook, 0 when none */
        struct haproxy_req *hp; /* in-flight HAProxy command, or NULL */
        long cur;               /* the action announced or in flight; -1 when none */
        bool has_outcome;       /* cur finished: outcome waits for actions_next() */
        struct actions_outcome outcome;
        int64_t due_ms; /* the next attempt may not start before this */
        uint64_t rng;
};

int64_t actions_backoff_ms(unsigned failed_attempts)
{
        int64_t d = ACTIONS_BACKOFF_FIRST_MS;

        for (unsigned i = 1; i < failed_attempts && d < ACTIONS_BACKOFF_MAX_MS; i++)
                d *= 2;
        return d < ACTIONS_BACKOFF_MAX_MS ? d : ACTIONS_BACKOFF_MAX_MS;
}

/* A jittered delay in [d/2, d], so that many agents do not retry in lockstep. */
static int64_t jitter(struct actions *a, int64_t d)
{
        a->rng ^= a->rng << 13;
        a->rng ^= a->rng >> 7;
        a->rng ^= a->rng << 17;
        return d / 2 + (int64_t)(a->rng % (uint64_t)(d / 2 + 1));
}

int actions_new(const struct policy *p, const struct state *s, struct http *http, const char *host,
                uint64_t seed, struct actions **ret)
{
        struct actions *a = calloc(1, sizeof(*a));

        if (!a)
                return -ENOMEM;
        *a = (struct actions){
                .p = p, .s = s, .http = http, .host = host, .cur = -1, .rng = seed | 1
        };
        *ret = a;
        return 0;
}

struct actions *actions_free(struct actions *a)
{
        if (!a)
                return NULL;
        if (a->http_id)
                http_cancel(a->http, a->http_id);
        haproxy_req_free(a->hp);
        free(a);
        return NULL;
}

static const struct policy_action *policy_action(const struct policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_actions; i++)
                if (!strcmp(p->actions[i].name, name))
                        return &p->actions[i];
        return NULL;
}

static unsigned max_attempts(const struct actions *a, const struct state_action *x)
{
        const struct policy_action *pa = policy_action(a->p, x->name);

        return pa ? pa->retries + 1 : 1;
}

static void outcome_set(struct actions *a, struct actions_outcome *o, enum actions_event_kind kind,
                        size_t i, const char *result)
{
        const struct state_action *x = &a->s->actions[i];

        *o = (struct actions_outcome){ .kind = kind,
                                       .action = i,
                                       .attempt = x->attempts,
                                       .max_attempts = max_attempts(a, x) };
        snprintf(o->result, sizeof(o->result), "%s", result ? result : "");
}

/* Ends the attempt in flight: done, retry later, or failed for good. */
static void finish(struct actions *a, bool ok, bool retryable, int64_t retry_after_ms,
                   const char *result)
{
        struct actions_outcome *o = &a->outcome;
        enum actions_event_kind kind = ACTIONS_EVENT_FAILED;
        const struct state_action *x = &a->s->actions[a->cur];

        if (ok)
                kind = ACTIONS_EVENT_DONE;
        else if (retryable && x->attempts < max_attempts(a, x))
                kind = ACTIONS_EVENT_RETRY;
        outcome_set(a, o, kind, (size_t)a->cur, result);
        if (kind == ACTIONS_EVENT_RETRY) {
                o->retry_in_ms = jitter(a, actions_backoff_ms(x->attempts));
                if (retry_after_ms > o->retry_in_ms)
                        o->retry_in_ms = retry_after_ms < ACTIONS_RETRY_AFTER_MAX_MS
                                                 ? retry_after_ms
                                                 : ACTIONS_RETRY_AFTER_MAX_MS;
        }
        a->has_outcome = true;
}

/* Retry-After in ms, capped before it is scaled so that no value can overflow. */
static int64_t retry_after_ms(const struct http_response *resp)
{
        uint64_t cap_s = ACTIONS_RETRY_AFTER_MAX_MS / 1000;

        if (!resp->has_retry_after)
                return 0;
        return (int64_t)(resp->retry_after_s < cap_s ? resp->retry_after_s : cap_s) * 1000;
}

static void http_done(uint64_t id, struct http_response *resp, void *userdata)
{
        struct actions *a = userdata;
        char result[STATE_RESULT_MAX + 1], excerpt[160];
        long st = resp->status;

        (void)id;
        a->http_id = 0;
        if (a->cur < 0 || a->has_outcome)
                return;
        /* A 2xx whose body outgrew the cap still succeeded: the body is only ever an excerpt. */
        if (resp->error == -EFBIG && st >= 200 && st < 300) {
                snprintf(result, sizeof(result), "HTTP %ld (response body over %d bytes ignored)",
                         st, ACTIONS_RESPONSE_MAX);
                finish(a, true, false, 0, result);
                return;
        }
        if (resp->error < 0) {
                finish(a, false, true, 0, resp->reason);
                return;
        }
        http_body_excerpt(resp->body, resp->body_len, excerpt, sizeof(excerpt));
        if (st >= 200 && st < 300)
                snprintf(result, sizeof(result), "HTTP %ld", st);
        else
                snprintf(result, sizeof(result), "HTTP %ld: %s", st, excerpt);
        finish(a, st >= 200 && st < 300, st == 429 || st >= 500, retry_after_ms(resp), result);
}

/* Returns 0, 1 when why holds a warning (the request went out all the same), or -errno. */
static int send_http(struct actions *a, const struct policy_action *pa,
                     const struct state_action *x, char *why, size_t whysize)
{
        struct actions_http h = { 0 };
        struct http_request_opts o;
        int r = actions_http_build(a->p, a->s, a->host, pa, x, &h, why, whysize);
        int warned = r > 0;

        if (r >= 0) {
                o = (struct http_request_opts){
                        .method = pa->method ? pa->method : "POST",
                        .url = h.url,
                        .headers = (const char *const *)h.headers,
                        .n_headers = h.n_headers,
                        .body = h.body,
                        .body_len = strlen(h.body),
                        .bearer_token = h.token[0] ? h.token : NULL,
                        .ca_file = pa->tls_ca,
                        .timeout_ms = pa->timeout_ms,
                        .max_response_bytes = ACTIONS_RESPONSE_MAX,
                };
                r = http_submit(a->http, &o, http_done, a, &a->http_id);
                if (r < 0)
                        snprintf(why, whysize, "cannot send: %s", strerror(-r));
        }
        actions_http_clear(&h);
        return r < 0 ? r : warned;
}

static int send_haproxy(struct actions *a, const struct policy_action *pa, char *why,
                        size_t whysize)
{
        const struct haproxy_target t = { .socket = pa->socket, .address = pa->address };
        char cmd[HAPROXY_COMMAND_MAX + 1];
        int r;

        r = haproxy_format_command(pa->state, pa->server, cmd, sizeof(cmd));
        if (r >= 0)
                r = haproxy_req_start(&t, cmd, HAPROXY_EXPECT_EMPTY, pa->timeout_ms, 0, &a->hp);
        if (r < 0)
                snprintf(why, whysize, "cannot send the HAProxy command: %s", strerror(-r));
        return r;
}

/* Judges a finished HAProxy request: refused commands are final, transport errors retry. */
static void haproxy_finished(struct actions *a, enum haproxy_req_status st)
{
        char result[STATE_RESULT_MAX + 1];
        int err = haproxy_req_error(a->hp);

        if (st == HAPROXY_REQ_OK)
                snprintf(result, sizeof(result), "HAProxy accepted the command");
        else
                snprintf(result, sizeof(result), "%s", haproxy_req_reason(a->hp));
        a->hp = haproxy_req_free(a->hp);
        if (a->cur >= 0 && !a->has_outcome)
                finish(a, st == HAPROXY_REQ_OK, err != -EPROTO && err != -EMSGSIZE, 0, result);
}

int actions_next(struct actions *a, int64_t now_ms, struct actions_outcome *ret)
{
        const struct state_action *x;
        size_t i;

        if (a->has_outcome) {
                *ret = a->outcome;
                a->has_outcome = false;
                a->cur = -1;
                a->due_ms = now_ms + (ret->kind == ACTIONS_EVENT_RETRY ? ret->retry_in_ms : 0);
                return 1;
        }
        if (a->cur >= 0 || now_ms < a->due_ms)
                return 0;
        x = state_next_pending(a->s);
        if (!x || x->status != STATE_ACTION_PENDING)
                return 0;
        i = (size_t)(x - a->s->actions);
        if (!policy_action(a->p, x->name)) {
                outcome_set(a, ret, ACTIONS_EVENT_FAILED, i,
                            "the action is no longer in the policy");
                return 1;
        }
        /* A restart (or a reload with fewer retries) may find every attempt already made. */
        if (x->attempts >= max_attempts(a, x)) {
                outcome_set(a, ret, ACTIONS_EVENT_FAILED, i,
                            "no attempt left: the attempt limit was reached before the restart");
                return 1;
        }
        a->cur = (long)i;
        outcome_set(a, ret, ACTIONS_EVENT_ATTEMPT, i, NULL);
        ret->attempt = x->attempts + 1;
        return 1;
}

int actions_send(struct actions *a, int64_t now_ms, char *ret_warning, size_t size)
{
        const struct state_action *x;
        const struct policy_action *pa;
        char why[512]; /* longer than a result: a warning's token_file path and error */
        int r;

        (void)now_ms;
        if (a->cur < 0 || a->has_outcome || a->http_id || a->hp)
                return 0;
        x = &a->s->actions[a->cur];
        pa = policy_action(a->p, x->name);
        if (pa->type == ACTION_HTTP)
                r = send_http(a, pa, x, why, sizeof(why));
        else
                r = send_haproxy(a, pa, why, sizeof(why));
        if (r < 0)
                finish(a, false, false, 0, why);
        else if (a->hp && haproxy_req_status(a->hp) != HAPROXY_REQ_IN_PROGRESS)
                haproxy_finished(a, haproxy_req_status(a->hp)); /* failed at once */
        if (r <= 0)
                return 0;
        snprintf(ret_warning, size, "%s", why);
        return 1;
}

void actions_defer(struct actions *a, int64_t until_ms)
{
        a->cur = -1;
        a->due_ms = until_ms;
}

size_t actions_pollfds(struct actions *a, struct pollfd *fds, size_t max)
{
        if (!a->hp || max == 0 || haproxy_req_fd(a->hp) < 0)
                return 0;
        fds[0] =
                (struct pollfd){ .fd = haproxy_req_fd(a->hp), .events = haproxy_req_events(a->hp) };
        return 1;
}

void actions_dispatch(struct actions *a, const struct pollfd *fds, size_t n, int64_t now_ms)
{
        enum haproxy_req_status st;
        short revents = 0;

        (void)now_ms;
        if (!a->hp)
                return;
        for (size_t i = 0; i < n; i++)
                if (fds[i].fd == haproxy_req_fd(a->hp))
                        revents |= fds[i].revents;
        /* Without readiness, only a passed deadline has something to say. */
        if (!revents && haproxy_req_timeout_ms(a->hp) > 0)
                return;
        st = haproxy_req_on_ready(a->hp, revents);
        if (st != HAPROXY_REQ_IN_PROGRESS)
                haproxy_finished(a, st);
}

int64_t actions_next_due_ms(const struct actions *a, int64_t now_ms)
{
        const struct state_action *x;

        if (a->has_outcome)
                return now_ms;
        if (a->hp)
                return now_ms + (int64_t)haproxy_req_timeout_ms(a->hp);
        if (a->cur >= 0)
                return INT64_MAX;
        x = state_next_pending(a->s);
        return x && x->status == STATE_ACTION_PENDING ? a->due_ms : INT64_MAX;
}
