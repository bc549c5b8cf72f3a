/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "actions.h"
#include "haproxy.h"
#include "report.h"
#include "template.h"
#include "clock.h"
#include "util.h"

struct actions {
        const struct policy *p;
        struct state *s;
        const char *state_dir;
        struct http *http;
        const char *host;
        actions_event_fn fn;
        void *userdata;
        uint64_t http_id;         /* in-flight webhook, 0 when none */
        struct haproxy_req *hp;   /* in-flight HAProxy command, or NULL */
        struct state_action *cur; /* the action in flight */
        int64_t due_ms;           /* the next attempt may not start before this */
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

int actions_new(const struct policy *p, struct state *s, const char *state_dir, struct http *http,
                const char *host, actions_event_fn fn, void *userdata, struct actions **ret)
{
        struct actions *a = calloc(1, sizeof(*a));

        if (!a)
                return -ENOMEM;
        *a = (struct actions){ .p = p,
                               .s = s,
                               .state_dir = state_dir,
                               .http = http,
                               .host = host,
                               .fn = fn,
                               .userdata = userdata };
        if (getrandom(&a->rng, sizeof(a->rng), GRND_NONBLOCK) != sizeof(a->rng) || !a->rng)
                a->rng = (uint64_t)mono_ms() | 1;
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

static void emit(struct actions *a, enum actions_event_kind kind, const struct state_action *x,
                 int64_t retry_in_ms, const char *result)
{
        const struct policy_action *pa = NULL;
        struct actions_event ev = { .kind = kind,
                                    .action = x->name,
                                    .key = x->key,
                                    .attempt = x->attempts,
                                    .retry_in_ms = retry_in_ms,
                                    .result = result };

        for (size_t i = 0; i < a->p->n_actions; i++)
                if (!strcmp(a->p->actions[i].name, x->name))
                        pa = &a->p->actions[i];
        ev.max_attempts = pa ? pa->retries + 1 : 1;
        if (a->fn)
                a->fn(a->userdata, &ev);
}

static const struct policy_action *policy_action(const struct policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_actions; i++)
                if (!strcmp(p->actions[i].name, name))
                        return &p->actions[i];
        return NULL;
}

int actions_envelope(const struct policy *p, const struct state *s, const char *name,
                     const char *host, char **ret)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:s, s:o}", "batch",
                              p->name, "phase", "tripped", "action", name, "trip_id", s->trip_id,
                              "host", host, "image", p->image, "stable_image", p->stable_image,
                              "traffic_percent", (json_int_t)p->traffic_percent, "timestamp",
                              s->trip_time, "reason", report_reason_json(&s->reason));
        char *text;

        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

/*
 * Reads the bearer token: the file must be a regular file of mode 0600 or 0400; one
 * trailing newline is dropped. The token is never logged or stored.
 */
static int read_token(const char *path, char *buf, size_t size, char *why, size_t whysize)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0) {
                snprintf(why, whysize, "token_file %s: %s", path, strerror(errno));
                return -errno;
        }
        if (!S_ISREG(st.st_mode) ||
            ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)) {
                snprintf(why, whysize, "token_file %s: must be a regular file of mode 0600 or 0400",
                         path);
                return -EPERM;
        }
        n = read(fd, buf, size - 1);
        if (n < 0 || (size_t)n >= size - 1) {
                snprintf(why, whysize, "token_file %s: %s", path,
                         n < 0 ? strerror(errno) : "too long");
                return n < 0 ? -errno : -E2BIG;
        }
        buf[n] = '\0';
        if (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        if (n == 0 || strpbrk(buf, "\r\n")) {
                snprintf(why, whysize, "token_file %s: empty or more than one line", path);
                return -EINVAL;
        }
        return 0;
}

static void fill_vars(const struct actions *a, const char *name, char *percent, size_t size,
                      struct template_vars *v)
{
        snprintf(percent, size, "%u", a->p->traffic_percent);
        *v = (struct template_vars){ .v = {
                                             [TEMPLATE_VAR_BATCH] = a->p->name,
                                             [TEMPLATE_VAR_IMAGE] = a->p->image,
                                             [TEMPLATE_VAR_STABLE_IMAGE] = a->p->stable_image,
                                             [TEMPLATE_VAR_TRAFFIC_PERCENT] = percent,
                                             [TEMPLATE_VAR_TRIP_ID] = a->s->trip_id,
                                             [TEMPLATE_VAR_ACTION] = name,
                                             [TEMPLATE_VAR_INSTANCE] = a->s->reason.instance,
                                             [TEMPLATE_VAR_RULE] = a->s->reason.rule,
                                             [TEMPLATE_VAR_HOST] = a->host,
                                     } };
}

struct http_parts {
        char *url;
        char *body;
        char *headers[POLICY_HEADERS_MAX + 3];
        size_t n_headers;
        char token[ACTIONS_TOKEN_MAX];
};

static void http_parts_free(struct http_parts *hp)
{
        free(hp->url);
        free(hp->body);
        for (size_t i = 0; i < hp->n_headers; i++)
                free(hp->headers[i]);
        explicit_bzero(hp->token, sizeof(hp->token));
}

/* Expands the URL, headers and body of pa; the same inputs give the same bytes every time. */
static int build_http(struct actions *a, const struct policy_action *pa,
                      const struct state_action *x, struct http_parts *hp, char *why,
                      size_t whysize)
{
        struct template_vars vars;
        char percent[16];
        bool has_ct = false;
        int r;

        fill_vars(a, pa->name, percent, sizeof(percent), &vars);
        r = template_expand(pa->url, &vars, TEMPLATE_ESCAPE_URL, &hp->url);
        for (size_t i = 0; r >= 0 && i < pa->n_headers; i++) {
                r = template_expand(pa->headers[i], &vars, TEMPLATE_ESCAPE_NONE,
                                    &hp->headers[hp->n_headers]);
                if (r >= 0 && !strncasecmp(hp->headers[hp->n_headers], "content-type:", 13))
                        has_ct = true;
                hp->n_headers += r >= 0;
        }
        if (r >= 0)
                r = pa->body ? template_expand(pa->body, &vars, TEMPLATE_ESCAPE_JSON, &hp->body)
                             : actions_envelope(a->p, a->s, pa->name, a->host, &hp->body);
        if (r >= 0 && asprintf(&hp->headers[hp->n_headers], "Idempotency-Key: %s", x->key) < 0)
                r = -ENOMEM;
        hp->n_headers += r >= 0;
        if (r >= 0 && !has_ct &&
            !(hp->headers[hp->n_headers] = strdup("Content-Type: application/json")))
                r = -ENOMEM;
        hp->n_headers += r >= 0 && !has_ct;
        if (r < 0) {
                snprintf(why, whysize, "cannot build the request: %s", strerror(-r));
                return r;
        }
        if (pa->token_file)
                return read_token(pa->token_file, hp->token, sizeof(hp->token), why, whysize);
        return 0;
}

/* Saves the state; on failure the caller must not send (exactly-once depends on it). */
static int save(struct actions *a, const struct state_action *x)
{
        int r = state_save(a->state_dir, a->s);
        char msg[160];

        if (r < 0) {
                snprintf(msg, sizeof(msg), "cannot save the state file in %s: %s", a->state_dir,
                         strerror(-r));
                emit(a, ACTIONS_EVENT_ERROR, x, 0, msg);
        }
        return r;
}

/* Records an attempt's outcome: done, retry later, or failed for good. */
static void finish(struct actions *a, struct state_action *x, bool ok, bool retryable,
                   int64_t retry_after_ms, const char *result)
{
        const struct policy_action *pa = policy_action(a->p, x->name);
        unsigned max_attempts = pa ? pa->retries + 1 : 1;
        enum actions_event_kind kind;
        int64_t delay = 0;

        if (ok) {
                kind = ACTIONS_EVENT_DONE;
                state_action_finish(a->s, x, STATE_ACTION_DONE, result);
        } else if (retryable && x->attempts < max_attempts) {
                kind = ACTIONS_EVENT_RETRY;
                delay = jitter(a, actions_backoff_ms(x->attempts));
                if (retry_after_ms > delay)
                        delay = retry_after_ms < ACTIONS_RETRY_AFTER_MAX_MS
                                        ? retry_after_ms
                                        : ACTIONS_RETRY_AFTER_MAX_MS;
                state_action_finish(a->s, x, STATE_ACTION_PENDING, result);
        } else {
                kind = ACTIONS_EVENT_FAILED;
                state_action_finish(a->s, x, STATE_ACTION_FAILED, result);
        }
        a->cur = NULL;
        a->due_ms = mono_ms() + delay;
        /* A failed save leaves the outcome in memory; the next save carries it. */
        save(a, x);
        emit(a, kind, x, delay, result);
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
        struct state_action *x = a->cur;
        char result[STATE_RESULT_MAX + 1], excerpt[160];
        long st = resp->status;

        (void)id;
        a->http_id = 0;
        if (!x)
                return;
        /* A 2xx whose body outgrew the cap still succeeded: the body is only ever an excerpt. */
        if (resp->error == -EFBIG && st >= 200 && st < 300) {
                snprintf(result, sizeof(result), "HTTP %ld (response body over %d bytes ignored)",
                         st, ACTIONS_RESPONSE_MAX);
                finish(a, x, true, false, 0, result);
                return;
        }
        if (resp->error < 0) {
                snprintf(result, sizeof(result), "%s", resp->reason);
                finish(a, x, false, true, 0, result);
                return;
        }
        http_body_excerpt(resp->body, resp->body_len, excerpt, sizeof(excerpt));
        if (st >= 200 && st < 300)
                snprintf(result, sizeof(result), "HTTP %ld", st);
        else
                snprintf(result, sizeof(result), "HTTP %ld: %s", st, excerpt);
        finish(a, x, st >= 200 && st < 300, st == 429 || st >= 500, retry_after_ms(resp), result);
}

static int send_http(struct actions *a, const struct policy_action *pa, struct state_action *x,
                     char *why, size_t whysize)
{
        struct http_parts hp = { 0 };
        struct http_request_opts o;
        int r = build_http(a, pa, x, &hp, why, whysize);

        if (r >= 0) {
                o = (struct http_request_opts){
                        .method = pa->method ? pa->method : "POST",
                        .url = hp.url,
                        .headers = (const char *const *)hp.headers,
                        .n_headers = hp.n_headers,
                        .body = hp.body,
                        .body_len = strlen(hp.body),
                        .bearer_token = hp.token[0] ? hp.token : NULL,
                        .ca_file = pa->tls_ca,
                        .timeout_ms = pa->timeout_ms,
                        .max_response_bytes = ACTIONS_RESPONSE_MAX,
                };
                r = http_submit(a->http, &o, http_done, a, &a->http_id);
                if (r < 0)
                        snprintf(why, whysize, "cannot send: %s", strerror(-r));
        }
        http_parts_free(&hp);
        return r;
}

static int send_haproxy(struct actions *a, const struct policy_action *pa, struct state_action *x,
                        char *why, size_t whysize)
{
        const struct haproxy_target t = { .socket = pa->socket, .address = pa->address };
        char cmd[HAPROXY_COMMAND_MAX + 1];
        int r;

        (void)x;
        r = haproxy_format_command(pa->state, pa->server, cmd, sizeof(cmd));
        if (r >= 0)
                r = haproxy_req_start(&t, cmd, HAPROXY_EXPECT_EMPTY, pa->timeout_ms, 0, &a->hp);
        if (r < 0)
                snprintf(why, whysize, "cannot send the HAProxy command: %s", strerror(-r));
        return r;
}

static int send_attempt(struct actions *a, const struct policy_action *pa, struct state_action *x,
                        char *why, size_t whysize)
{
        if (pa->type == ACTION_HTTP)
                return send_http(a, pa, x, why, whysize);
        return send_haproxy(a, pa, x, why, whysize);
}

void actions_run(struct actions *a, int64_t now_ms)
{
        const struct policy_action *pa;
        struct state_action *x;
        char why[STATE_RESULT_MAX + 1];

        if (a->cur || now_ms < a->due_ms)
                return;
        x = state_next_pending(a->s);
        if (!x || x->status != STATE_ACTION_PENDING)
                return;
        pa = policy_action(a->p, x->name);
        if (!pa) {
                state_action_finish(a->s, x, STATE_ACTION_FAILED,
                                    "the action is no longer in the policy");
                save(a, x);
                emit(a, ACTIONS_EVENT_FAILED, x, 0, "the action is no longer in the policy");
                return;
        }
        state_action_begin_attempt(x);
        if (save(a, x) < 0) {
                /* Not recorded, so not sent: undo and try again in a second. */
                x->status = STATE_ACTION_PENDING;
                x->attempts--;
                a->due_ms = now_ms + ACTIONS_BACKOFF_FIRST_MS;
                return;
        }
        a->cur = x;
        emit(a, ACTIONS_EVENT_ATTEMPT, x, 0, NULL);
        if (send_attempt(a, pa, x, why, sizeof(why)) < 0)
                finish(a, x, false, false, 0, why);
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
        if (a->cur)
                finish(a, a->cur, st == HAPROXY_REQ_OK, err != -EPROTO && err != -EMSGSIZE, 0,
                       result);
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

int64_t actions_next_due_ms(const struct actions *a)
{
        struct state_action *x;

        if (a->hp)
                return mono_ms() + (int64_t)haproxy_req_timeout_ms(a->hp);
        if (a->cur)
                return INT64_MAX;
        x = state_next_pending((struct state *)a->s);
        return x && x->status == STATE_ACTION_PENDING ? a->due_ms : INT64_MAX;
}

bool actions_busy(const struct actions *a)
{
        struct state_action *x = state_next_pending((struct state *)a->s);

        return a->cur || (x && x->status == STATE_ACTION_PENDING);
}
