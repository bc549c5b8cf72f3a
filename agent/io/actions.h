/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Runs a tripped batch's actions, in file order, each waiting for the previous: the
 * traffic cut first, then the rollback, then notifications (DESIGN.md "Actions").
 *
 * The runner never writes the state: it reads it, and hands every outcome back as a value
 * for the state's one writer (the batch) to record and save. Exactly once: an attempt is
 * announced (ACTIONS_EVENT_ATTEMPT) and only sent once the writer has saved it (in
 * progress, one more attempt) under the trip's idempotency key; a crash after that
 * resends under the same key, which receivers deduplicate, and a finished action is never
 * sent again. The runner reads no clock: every call takes now_ms (monotonic). It never
 * blocks: HTTP goes through the shared engine and HAProxy requests expose their fd.
 */

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "policy.h"
#include "state.h"

#define ACTIONS_BACKOFF_FIRST_MS   1000
#define ACTIONS_BACKOFF_MAX_MS     30000
#define ACTIONS_RETRY_AFTER_MAX_MS (10 * 60 * 1000) /* a Retry-After beyond this is capped */
#define ACTIONS_RESPONSE_MAX       (64 * 1024)      /* response bytes kept from a webhook */

enum actions_event_kind {
        ACTIONS_EVENT_ATTEMPT, /* an attempt is due: record it, then actions_send() */
        ACTIONS_EVENT_DONE,    /* the action succeeded */
        ACTIONS_EVENT_RETRY,   /* the attempt failed; another follows after retry_in_ms */
        ACTIONS_EVENT_FAILED,  /* the action failed for good */
        _ACTIONS_EVENT_MAX,
};

/* One outcome for the writer: what to record in the state, log and count. */
struct actions_outcome {
        enum actions_event_kind kind;
        size_t action;    /* index in the state's actions (file order) */
        unsigned attempt; /* 1-based: the attempt this is about */
        unsigned max_attempts;
        int64_t retry_in_ms;               /* RETRY: the wait before the next attempt */
        char result[STATE_RESULT_MAX + 1]; /* what happened ("" for ATTEMPT), never a token */
};

struct actions;

/*
 * A runner for policy p's actions on the trip s holds. p, s, http and host are borrowed and
 * must outlive it; s is only read. seed drives the retry jitter. Returns 0 and *ret, or
 * -ENOMEM.
 */
int actions_new(const struct policy *p, const struct state *s, struct http *http, const char *host,
                uint64_t seed, struct actions **ret);

/* Cancels what is in flight (it stays pending in the state) and frees; NULL is fine. */
struct actions *actions_free(struct actions *a);

/*
 * The next outcome at now_ms: returns 1 and fills *ret, or 0 when there is none now.
 * ATTEMPT: record it with state_action_begin_attempt() and save, then call actions_send(),
 * or actions_defer() when the save failed; nothing else comes until one of them is called.
 * DONE, RETRY, FAILED: record them with state_action_finish().
 */
int actions_next(struct actions *a, int64_t now_ms, struct actions_outcome *ret);

/*
 * Sends the announced attempt (now recorded). A request that cannot be built or started
 * fails the action for good: that FAILED comes from the next actions_next(). Returns 1 with
 * ret_warning (size bytes) when the request went out on a fallback the writer should log
 * (its token_file could not be read again: the token loaded with the policy is sent), else 0.
 */
int actions_send(struct actions *a, int64_t now_ms, char *ret_warning, size_t size);

/* The announced attempt was not recorded, so it is not sent: announce it again at until_ms. */
void actions_defer(struct actions *a, int64_t until_ms);

/* When actions_next() next has something, given now_ms; INT64_MAX when it waits on I/O or
 * has nothing scheduled. */
int64_t actions_next_due_ms(const struct actions *a, int64_t now_ms);

/* The fds of an in-flight HAProxy request (0 or 1 of them). */
size_t actions_pollfds(struct actions *a, struct pollfd *fds, size_t max);

/* Hands back readiness for the fds from actions_pollfds(); now_ms judges its deadline. */
void actions_dispatch(struct actions *a, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Back-off before attempt n+1 after n failed ones (n >= 1), before jitter. */
int64_t actions_backoff_ms(unsigned failed_attempts);

/*
 * Builds the default JSON envelope for action name of the trip in s. Returns 0 and *ret
 * (malloc'd) or -ENOMEM, -EINVAL when the trip cannot be rendered.
 */
int actions_envelope(const struct policy *p, const struct state *s, const char *name,
                     const char *host, char **ret);
