/* SPDX-License-Identifier: MIT */
/*
 * The action runner with a fake clock and a real loopback peer (libmicrohttpd on its own
 * thread): every outcome is a value the test records into the state, as the batch does.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "actions.h"
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

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
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

static int setup(void **ctx)
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

static int teardown(void **ctx)
{
        (void)ctx;
        MHD_stop_daemon(peer.mhd);
        return 0;
}

static int64_t real_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void fixture_init(struct fixture *fx, const struct act *acts, size_t n, bool resume)
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

static void fixture_done(struct fixture *fx)
{
        actions_free(fx->a);
        http_free(fx->http);
        state_free(fx->s);
}

/* What the batch does with an outcome: records it, and sends only what it recorded. */
static void record(struct fixture *fx, const struct actions_outcome *o)
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
static unsigned run_at(struct fixture *fx, int64_t now)
{
        int64_t deadline = real_ms() + 5000;
        struct actions_outcome o;
        unsigned n = 0;

        fx->now = now;
        for (;;) {
                while (actions_next(fx->a, fx->now, &o) > 0) {
                        record(fx, &o);
                        n++;
                }
                if (http_pending(fx->http) == 0 || real_ms() > deadline)
                        break; /* nothing in flight */
                assert_true(http_poll(fx->http, NULL, 0, 50) >= 0);
        }
        assert_true(real_ms() <= deadline);
        return n;
}

static unsigned hits(size_t i)
{
        unsigned n;

        pthread_mutex_lock(&peer.lock);
        n = peer.routes[i].hits;
        pthread_mutex_unlock(&peer.lock);
        return n;
}

struct backoff_case {
        unsigned failed;
        int64_t ms;
};

static void test_backoff(void **ctx)
{
        static const struct backoff_case cases[] = {
                { 1, 1000 },  { 2, 2000 },  { 3, 4000 },  { 4, 8000 },
                { 5, 16000 }, { 6, 30000 }, { 7, 30000 }, { 40, 30000 },
        };

        (void)ctx;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case %zu: %u failed attempts\n", i, cases[i].failed);
                assert_int_equal(actions_backoff_ms(cases[i].failed), cases[i].ms);
        }
}

/* The envelope is what the release before rendered for the same state, byte for byte. */
static void test_envelope_golden(void **ctx)
{
        struct policy p = { .name = "v1.0.1-a",
                            .image = "reg/o:v2",
                            .stable_image = "reg/o:v1",
                            .traffic_percent = 5 };
        _cleanup_free_ char *text = NULL, *path = NULL, *want = NULL;
        const char *src = getenv("OOMBREAKER_SOURCE_DIR");
        struct state *s;
        FILE *f;

        (void)ctx;
        assert_true(asprintf(&path, "%s/tests/fixtures/state", src ? src : ".") > 0);
        assert_int_equal(state_load(path, "v1.0.1-a", &s, NULL), 0);
        assert_int_equal(actions_envelope(&p, s, "rollback", "node-7", &text), 0);
        free(path);
        assert_true(asprintf(&path, "%s/tests/fixtures/state/v1.0.1-a.envelope.json",
                             src ? src : ".") > 0);
        f = fopen(path, "r");
        assert_non_null(f);
        want = calloc(1, 4096);
        assert_true(fread(want, 1, 4095, f) > 0);
        fclose(f);
        want[strcspn(want, "\n")] = '\0';
        assert_string_equal(text, want);
        state_free(s);
}

/* A manual trip's words reach the payload; the trip's record keeps them through the file. */
static void test_envelope_manual(void **ctx)
{
        struct policy p = { .name = "v1.0.1-a" };
        struct breaker_trip t = { .t_ms = 5, .instance = "*", .rule = "manual" };
        _cleanup_free_ char *text = NULL;
        struct state *s, *back;
        char dir[] = "/tmp/test-actions.XXXXXX";
        json_t *j;

        (void)ctx;
        snprintf(t.text, sizeof(t.text), "on-call: \"leak\" in v2");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(state_new("v1.0.1-a", &s), 0);
        assert_int_equal(state_begin_trip(s, &t, 1795400225, NULL, 0, "r1"), 0);
        assert_int_equal(state_save(dir, s), 0);
        assert_int_equal(state_load(dir, "v1.0.1-a", &back, NULL), 0);
        assert_string_equal(back->trip.text, t.text);
        assert_int_equal(actions_envelope(&p, back, "rollback", "node-7", &text), 0);
        j = json_loads(text, 0, NULL);
        assert_non_null(j);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "reason"), "text")), t.text);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "reason"), "rule")), "manual");
        json_decref(j);
        state_free(back);
        state_free(s);
        free(text);
        assert_true(asprintf(&text, "%s/v1.0.1-a.json", dir) > 0);
        assert_int_equal(unlink(text), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* Cut before rollback before notify; each exactly once, under its trip's key. */
static void test_order_and_keys(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } },
                                    { "/rollback", { 200 } },
                                    { "/notify", { 204 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 3, false);
        run_at(&fx, 1000);
        assert_string_equal(peer.order, "crn");
        for (size_t i = 0; i < 3; i++) {
                char key[STATE_KEY_MAX + 1];

                snprintf(key, sizeof(key), "v1.0.1-a:r1:0:%s", fx.pa[i].name);
                assert_int_equal(hits(i), 1);
                assert_string_equal(peer.routes[i].key, key);
                assert_int_equal(fx.s->actions[i].status, STATE_ACTION_DONE);
        }
        assert_int_equal(fx.recorded[ACTIONS_EVENT_ATTEMPT], 3);
        assert_int_equal(fx.recorded[ACTIONS_EVENT_DONE], 3);
        assert_int_equal(fx.s->phase, BREAKER_ROLLED_BACK);
        assert_string_equal(fx.s->actions[2].result, "HTTP 204");
        assert_int_equal(run_at(&fx, 99000), 0); /* nothing is ever sent again */
        fixture_done(&fx);
}

/* A 503 is retried after the back-off, and not one millisecond before it. */
static void test_backoff_waits(void **ctx)
{
        const struct act acts[] = { { "/cut", { 503, 503, 200 }, 5 } };
        struct fixture fx;
        int64_t due;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 1000);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        assert_true(fx.last.retry_in_ms >= 500 && fx.last.retry_in_ms <= 1000);
        due = actions_next_due_ms(fx.a, 1000);
        assert_int_equal(due, 1000 + fx.last.retry_in_ms);
        assert_int_equal(run_at(&fx, due - 1), 0);
        assert_int_equal(hits(0), 1);
        run_at(&fx, due);
        assert_int_equal(hits(0), 2);
        assert_true(fx.last.retry_in_ms >= 1000 && fx.last.retry_in_ms <= 2000); /* doubled */
        run_at(&fx, actions_next_due_ms(fx.a, due));
        assert_int_equal(hits(0), 3);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        assert_int_equal(fx.s->actions[0].attempts, 3);
        fixture_done(&fx);
}

/* retries = 2: three attempts, then failed for good; a gate keeps the rollback back. */
static void test_attempt_limit(void **ctx)
{
        const struct act acts[] = { { "/cut", { 500 }, 2, .on_failure = ACTION_ON_FAILURE_STOP },
                                    { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, false);
        for (int64_t t = 0; t < 600000; t += 1000)
                run_at(&fx, t);
        assert_int_equal(hits(0), 3);
        assert_int_equal(hits(1), 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.last.attempt, 3);
        assert_int_equal(fx.last.max_attempts, 3);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        assert_non_null(strstr(fx.s->actions[0].result, "HTTP 500: busy"));
        fixture_done(&fx);
}

/* A 4xx other than 429 is final at once: no retry. */
static void test_client_error_final(void **ctx)
{
        const struct act acts[] = { { "/cut", { 404 }, 5 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(hits(0), 1);
        fixture_done(&fx);
}

/* 429 with Retry-After: the next attempt waits that long, past the back-off. */
static void test_retry_after(void **ctx)
{
        const struct act acts[] = { { "/cut", { 429, 200 }, 5, "120" } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        assert_int_equal(fx.last.retry_in_ms, 120000);
        run_at(&fx, 119999);
        assert_int_equal(hits(0), 1);
        run_at(&fx, 120000);
        assert_int_equal(hits(0), 2);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        fixture_done(&fx);
}

/* A failed save holds the attempt back: nothing is sent until it is recorded. */
static void test_unsaved_attempt_not_sent(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        fx.save_fails = true;
        run_at(&fx, 0);
        run_at(&fx, 999);
        assert_int_equal(fx.recorded[ACTIONS_EVENT_ATTEMPT], 1);
        assert_int_equal(hits(0), 0);
        assert_int_equal(fx.s->actions[0].attempts, 0);
        fx.save_fails = false;
        run_at(&fx, 1000);
        assert_int_equal(hits(0), 1);
        assert_int_equal(fx.s->actions[0].attempts, 1);
        assert_int_equal(fx.s->actions[0].status, STATE_ACTION_DONE);
        fixture_done(&fx);
}

/* After a restart with the cut in progress: resent under the same key, counted as attempt 2. */
static void test_resume_after_restart(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, 1 }, { "/rollback", { 200 } } };
        struct fixture fx;
        char key[STATE_KEY_MAX + 1];

        (void)ctx;
        fixture_init(&fx, acts, 2, true);
        run_at(&fx, 0);
        snprintf(key, sizeof(key), "v1.0.1-a:r1:0:cut");
        assert_string_equal(peer.routes[0].key, key);
        assert_int_equal(fx.s->actions[0].attempts, 2);
        assert_int_equal(hits(0), 1);
        assert_int_equal(hits(1), 1);
        assert_int_equal(fx.s->phase, BREAKER_ROLLED_BACK);
        fixture_done(&fx);
}

/* A restart found the cut in progress at its last attempt (retries = 0): no more tries. The
 * cut is a gate here, so the failure is the last event and the rollback is not sent. */
static void test_resume_past_limit(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, .on_failure = ACTION_ON_FAILURE_STOP },
                                    { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, true);
        assert_int_equal(run_at(&fx, 0), 1);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.last.attempt, 1);
        assert_int_equal(fx.last.max_attempts, 1);
        assert_non_null(strstr(fx.last.result, "attempt limit"));
        assert_int_equal(hits(0) + hits(1), 0);
        assert_int_equal(fx.s->actions[0].attempts, 1);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        fixture_done(&fx);
}

/* A restart after the cut was done: only the rollback goes. */
static void test_resume_skips_done(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } }, { "/rollback", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 2, false);
        fx.s->actions[0].status = STATE_ACTION_DONE;
        fx.s->actions[0].attempts = 1;
        run_at(&fx, 0);
        assert_int_equal(hits(0), 0);
        assert_int_equal(hits(1), 1);
        fixture_done(&fx);
}

struct on_failure_case {
        const char *name;
        enum action_on_failure cut; /* the cut's on_failure; the cut always fails */
        unsigned rollback;          /* the rollback's answer */
        unsigned rollback_hits;
        enum state_action_status rollback_status;
        enum breaker_phase phase;
};

static const struct on_failure_case on_failure_cases[] = {
        { "continue: the rollback still goes", ACTION_ON_FAILURE_CONTINUE, 200, 1,
          STATE_ACTION_DONE, BREAKER_FAILED },
        { "continue, the rollback fails too", ACTION_ON_FAILURE_CONTINUE, 404, 1,
          STATE_ACTION_FAILED, BREAKER_FAILED },
        { "stop: a gate keeps the rest back", ACTION_ON_FAILURE_STOP, 200, 0, STATE_ACTION_PENDING,
          BREAKER_FAILED },
};

/* A cut that fails for good: the chain goes on unless the cut is a gate (on_failure = stop). */
static void test_on_failure(void **ctx)
{
        (void)ctx;
        for (size_t c = 0; c < ELEMENTSOF(on_failure_cases); c++) {
                const struct on_failure_case *tc = &on_failure_cases[c];
                const struct act acts[] = { { "/cut", { 503 }, 1, .on_failure = tc->cut },
                                            { "/rollback", { tc->rollback } } };
                struct fixture fx;

                print_message("case: %s\n", tc->name);
                fixture_init(&fx, acts, 2, false);
                for (int64_t t = 0; t < 120000 && fx.s->phase == BREAKER_TRIPPED; t += 500)
                        run_at(&fx, t);
                assert_int_equal(hits(0), 2);
                assert_int_equal(fx.s->actions[0].status, STATE_ACTION_FAILED);
                assert_int_equal(hits(1), tc->rollback_hits);
                assert_int_equal(fx.s->actions[1].status, tc->rollback_status);
                assert_int_equal(fx.s->phase, tc->phase);
                assert_int_equal(run_at(&fx, 600000), 0); /* and nothing more, ever */
                assert_int_equal(hits(0) + hits(1), 2 + tc->rollback_hits);
                fixture_done(&fx);
        }
}

/* An action the policy no longer has fails without a request. */
static void test_action_gone(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        snprintf(fx.pa[0].name, sizeof(fx.pa[0].name), "drain");
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_string_equal(fx.last.result, "the action is no longer in the policy");
        assert_int_equal(hits(0), 0);
        assert_int_equal(fx.s->phase, BREAKER_FAILED);
        fixture_done(&fx);
}

/* HAProxy unreachable: a transport error, retried with back-off, then failed. */
static void test_haproxy_unreachable(void **ctx)
{
        const struct act acts[] = { { NULL, { 0 }, 1 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_RETRY);
        run_at(&fx, actions_next_due_ms(fx.a, 0));
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_int_equal(fx.s->actions[0].attempts, 2);
        assert_non_null(strstr(fx.s->actions[0].result, "haproxy.sock"));
        fixture_done(&fx);
}

/* The runner reads the state only: it never writes it, whatever happens. */
static void test_state_untouched_without_writer(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        struct fixture fx;
        struct actions_outcome o;
        struct state_action before;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        before = fx.s->actions[0];
        assert_int_equal(actions_next(fx.a, 0, &o), 1);
        assert_int_equal(o.kind, ACTIONS_EVENT_ATTEMPT);
        assert_int_equal(o.attempt, 1);
        assert_int_equal(actions_next(fx.a, 0, &o), 0); /* waits for send or defer */
        assert_memory_equal(&before, &fx.s->actions[0], sizeof(before));
        assert_int_equal(hits(0), 0);
        fixture_done(&fx); /* frees with the attempt announced and unsent */
}

/* A webhook that cannot be built (unreadable token) fails for good without a request. */
static void test_bad_token_fails(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 }, 5 } };
        struct fixture fx;

        (void)ctx;
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = (char *)"/nonexistent/token";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_FAILED);
        assert_non_null(strstr(fx.last.result, "token_file"));
        assert_int_equal(hits(0), 0);
        fixture_done(&fx);
}

/*
 * A token_file that cannot be read at send time: the token loaded with the policy goes out,
 * and actions_send() hands back a warning for the writer to log. One that reads sends its
 * own, current value.
 */
static void test_token_fallback(void **ctx)
{
        const struct act acts[] = { { "/cut", { 200 } } };
        char dir[] = "/tmp/test-actions-XXXXXX", path[64];
        struct fixture fx;
        FILE *f;

        (void)ctx;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/token", dir);
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = path;
        fx.pa[0].token = (char *)"loaded";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_DONE);
        assert_string_equal(peer.routes[0].auth, "Bearer loaded");
        assert_non_null(strstr(fx.warning, "does not exist"));
        assert_non_null(strstr(fx.warning, "sending the token read when the policy loaded"));
        fixture_done(&fx);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs("rotated\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, 0600), 0);
        fixture_init(&fx, acts, 1, false);
        fx.pa[0].token_file = path;
        fx.pa[0].token = (char *)"loaded";
        run_at(&fx, 0);
        assert_int_equal(fx.last.kind, ACTIONS_EVENT_DONE);
        assert_string_equal(peer.routes[0].auth, "Bearer rotated");
        assert_string_equal(fx.warning, "");
        fixture_done(&fx);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_envelope_golden),
                cmocka_unit_test(test_envelope_manual),
                cmocka_unit_test(test_order_and_keys),
                cmocka_unit_test(test_backoff_waits),
                cmocka_unit_test(test_attempt_limit),
                cmocka_unit_test(test_client_error_final),
                cmocka_unit_test(test_retry_after),
                cmocka_unit_test(test_unsaved_attempt_not_sent),
                cmocka_unit_test(test_resume_after_restart),
                cmocka_unit_test(test_resume_past_limit),
                cmocka_unit_test(test_resume_skips_done),
                cmocka_unit_test(test_on_failure),
                cmocka_unit_test(test_action_gone),
                cmocka_unit_test(test_haproxy_unreachable),
                cmocka_unit_test(test_state_untouched_without_writer),
                cmocka_unit_test(test_bad_token_fails),
                cmocka_unit_test(test_token_fallback),
        };

        return cmocka_run_group_tests_name("actions", tests, setup, teardown);
}
