/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the action-runner tests share (test-actions.c, test-actions-retry.c): a real loopback
 * peer (libmicrohttpd on its own thread) that answers each path from a script and notes
 * what it saw, and a fixture that runs the actions on a fake clock and records every
 * outcome into the state, as the batch does. Include after <cmocka.h>.
 */

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "unit-helpers.h"
#include "util.h"

#define SCRIPT_MAX 8

/* What the peer answers on each path, in turn (the last answer repeats), and what it saw. */
struct route {
        const char *path;
        unsigned status[SCRIPT_MAX];
        size_t n_status;
        const char *retry_after;
        unsigned hits;
        char key[256];  /* the last Idempotency-Key */
        char auth[256]; /* the last Authorization */
};

static struct {
        struct MHD_Daemon *mhd;
        unsigned port;
        pthread_mutex_t lock;
        struct route routes[3]; /* /cut, /rollback, /notify */
        char order[64];         /* first letter of each path, in arrival order */
} peer = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *data,
                                      size_t *size, void **con_cls)
{
        struct MHD_Response *resp;
        struct route *r = NULL;
        unsigned status = 404;
        const char *key;
        enum MHD_Result ret;

        (void)cls, (void)method, (void)version, (void)data;
        if (!*con_cls) { /* the headers: wait for the body */
                *con_cls = c;
                return MHD_YES;
        }
        if (*size) {
                *size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&peer.lock);
        for (size_t i = 0; i < ELEMENTSOF(peer.routes); i++)
                if (peer.routes[i].path && !strcmp(url, peer.routes[i].path))
                        r = &peer.routes[i];
        if (r) {
                size_t k = r->hits < r->n_status ? r->hits : r->n_status - 1;

                status = r->status[k];
                r->hits++;
                key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
                snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
                key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
                snprintf(r->auth, sizeof(r->auth), "%s", key ? key : "");
                peer.order[strlen(peer.order)] = url[1];
        }
        resp = MHD_create_response_from_buffer(4, (void *)"busy", MHD_RESPMEM_PERSISTENT);
        if (r && r->retry_after)
                MHD_add_response_header(resp, "Retry-After", r->retry_after);
        pthread_mutex_unlock(&peer.lock);
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static inline int setup(void **ctx)
{
        (void)ctx;
        peer.mhd = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
                (struct sockaddr *)&(struct sockaddr_in){
                        .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
                MHD_OPTION_END);
        if (!peer.mhd)
                return -1;
        peer.port = MHD_get_daemon_info(peer.mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
        return 0;
}

static inline int teardown(void **ctx)
{
        (void)ctx;
        MHD_stop_daemon(peer.mhd);
        return 0;
}

/* One scripted action: its path on the peer, its answers and its retries. */
struct act {
        const char *path; /* NULL: an HAProxy action on a socket that does not exist */
        unsigned status[SCRIPT_MAX];
        unsigned retries;
        const char *retry_after;
        enum action_on_failure on_failure;
};

struct fixture {
        struct policy p;
        struct policy_action pa[3];
        char urls[3][128];
        struct state *s;
        struct http *http;
        struct actions *a;
        int64_t now;     /* the fake clock */
        bool save_fails; /* the writer cannot save: attempts are deferred */
        unsigned recorded[_ACTIONS_EVENT_MAX];
        struct actions_outcome last;
        char warning[512]; /* the last actions_send() warning, "" when none */
};

static inline void fixture_init(struct fixture *fx, const struct act *acts, size_t n, bool resume)
{

        memset(fx, 0, sizeof(*fx));
        pthread_mutex_lock(&peer.lock);
        memset(peer.routes, 0, sizeof(peer.routes));
        peer.order[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                struct route *r = &peer.routes[i];

                r->path = acts[i].path;
                r->retry_after = acts[i].retry_after;
                while (r->n_status < SCRIPT_MAX && acts[i].status[r->n_status])
                        r->status[r->n_status] = acts[i].status[r->n_status], r->n_status++;
        }
        pthread_mutex_unlock(&peer.lock);
        snprintf(fx->p.name, sizeof(fx->p.name), "v1.0.1-a");
        fx->p.actions = fx->pa;
        fx->p.n_actions = n;
        for (size_t i = 0; i < n; i++) {
                struct policy_action *pa = &fx->pa[i];

                snprintf(pa->name, sizeof(pa->name), "%s",
                         (const char *[]){ "cut", "rollback", "notify" }[i]);
                pa->retries = acts[i].retries;
                pa->on_failure = acts[i].on_failure;
                pa->timeout_ms = 2000;
                if (acts[i].path) {
                        pa->type = ACTION_HTTP;
                        snprintf(fx->urls[i], sizeof(fx->urls[i]), "http://127.0.0.1:%u%s",
                                 peer.port, acts[i].path);
                        pa->url = fx->urls[i];
                } else {
                        pa->type = ACTION_HAPROXY;
                        pa->socket = (char *)"/nonexistent/haproxy.sock";
                        pa->server = (char *)"be/canary-1";
                }
        }
        assert_int_equal(state_new("v1.0.1-a", &fx->s), 0);
        assert_int_equal(state_begin_trip(fx->s,
                                          &(struct breaker_trip){ .instance = "canary-1",
                                                                  .rule = "heap-pressure",
                                                                  .t_ms = 5000 },
                                          1795400225, fx->pa, n, "r1"),
                         0);
        if (resume) { /* a restart found the first action in progress */
                fx->s->actions[0].attempts = 1;
                fx->s->actions[0].resumed = true;
        }
        assert_int_equal(http_new(&fx->http), 0);
        assert_int_equal(actions_new(&fx->p, fx->s, fx->http, "node-7", 42, &fx->a), 0);
}

static inline void fixture_done(struct fixture *fx)
{
        actions_free(fx->a);
        http_free(fx->http);
        state_free(fx->s);
}

/* What the batch does with an outcome: records it, and sends only what it recorded. */
static inline void record(struct fixture *fx, const struct actions_outcome *o)
{
        static const enum state_action_status st[_ACTIONS_EVENT_MAX] = {
                [ACTIONS_EVENT_DONE] = STATE_ACTION_DONE,
                [ACTIONS_EVENT_RETRY] = STATE_ACTION_PENDING,
                [ACTIONS_EVENT_FAILED] = STATE_ACTION_FAILED,
        };
        struct state_action *x = &fx->s->actions[o->action];

        fx->recorded[o->kind]++;
        fx->last = *o;
        if (o->kind != ACTIONS_EVENT_ATTEMPT) {
                assert_int_equal(state_action_finish(fx->s, x, st[o->kind], o->result), 0);
                return;
        }
        state_action_begin_attempt(x);
        assert_int_equal(x->attempts, o->attempt);
        if (fx->save_fails) {
                state_action_undo_attempt(x);
                actions_defer(fx->a, fx->now + 1000);
                return;
        }
        if (actions_send(fx->a, fx->now, fx->warning, sizeof(fx->warning)) == 0)
                fx->warning[0] = '\0';
}

/*
 * Runs the actions until nothing more happens at the fake time now: takes outcomes, and
 * waits (real time, with a deadline) for requests in flight. Returns how many outcomes.
 */
static inline unsigned run_at(struct fixture *fx, int64_t now)
{
        int64_t deadline = mono_ms() + 5000;
        struct actions_outcome o;
        unsigned n = 0;

        fx->now = now;
        for (;;) {
                while (actions_next(fx->a, fx->now, &o) > 0) {
                        record(fx, &o);
                        n++;
                }
                if (http_pending(fx->http) == 0 || mono_ms() > deadline)
                        break; /* nothing in flight */
                assert_true(http_poll(fx->http, NULL, 0, 50) >= 0);
        }
        assert_true(mono_ms() <= deadline);
        return n;
}

static inline unsigned hits(size_t i)
{
        unsigned n;

        pthread_mutex_lock(&peer.lock);
        n = peer.routes[i].hits;
        pthread_mutex_unlock(&peer.lock);
        return n;
}
