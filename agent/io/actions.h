/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Runs a tripped batch's actions, in file order, each waiting for the previous: the
 * traffic cut first, then the rollback, then notifications (DESIGN.md "Actions").
 *
 * Exactly once: before an attempt is sent, the state file records it (in progress, one
 * more attempt) under the trip's idempotency key; after it, the outcome. A crash between
 * the two resends under the same key, which receivers deduplicate; a finished action is
 * never sent again. The runner never blocks: HTTP goes through the shared engine and
 * HAProxy requests expose their fd to the loop.
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
#define ACTIONS_TOKEN_MAX          4096

enum actions_event_kind {
        ACTIONS_EVENT_ATTEMPT, /* an attempt is being sent */
        ACTIONS_EVENT_DONE,    /* the action succeeded */
        ACTIONS_EVENT_RETRY,   /* the attempt failed; another follows after retry_in_ms */
        ACTIONS_EVENT_FAILED,  /* the action failed for good; the phase is now failed */
        ACTIONS_EVENT_ERROR,   /* the runner itself could not proceed (state not saved, ...) */
        _ACTIONS_EVENT_MAX,
};

struct actions_event {
        enum actions_event_kind kind;
        const char *action; /* the action's name */
        const char *key;    /* its idempotency key */
        unsigned attempt;   /* 1-based */
        unsigned max_attempts;
        int64_t retry_in_ms;
        const char *result; /* what happened, never a token */
};

typedef void (*actions_event_fn)(void *userdata, const struct actions_event *ev);

struct actions;

/*
 * A runner for policy p's actions against state s (which must hold the trip), saving to
 * state_dir. p, s, http and host must outlive it. Returns 0 and *ret, or -ENOMEM.
 */
int actions_new(const struct policy *p, struct state *s, const char *state_dir, struct http *http,
                const char *host, actions_event_fn fn, void *userdata, struct actions **ret);

/* Cancels what is in flight (it stays pending in the state) and frees; NULL is fine. */
struct actions *actions_free(struct actions *a);

/* Starts the next attempt if one is due at now_ms (monotonic) and nothing is in flight. */
void actions_run(struct actions *a, int64_t now_ms);

/* When actions_run() next has work (INT64_MAX: nothing scheduled, or waiting on I/O). */
int64_t actions_next_due_ms(const struct actions *a);

/* True while an attempt is in flight or scheduled, i.e. the trip is not yet finished. */
bool actions_busy(const struct actions *a);

/* The fds of an in-flight HAProxy request (0 or 1 of them). */
size_t actions_pollfds(struct actions *a, struct pollfd *fds, size_t max);

/* Hands back readiness for the fds from actions_pollfds(). */
void actions_dispatch(struct actions *a, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Back-off before attempt n+1 after n failed ones (n >= 1), before jitter. */
int64_t actions_backoff_ms(unsigned failed_attempts);

/*
 * Builds the default JSON envelope for action name of the trip in s. Returns 0 and *ret
 * (malloc'd) or -ENOMEM.
 */
int actions_envelope(const struct policy *p, const struct state *s, const char *name,
                     const char *host, char **ret);
