/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One batch at run time: its policy, the cgroup and scrape handles of its targets, the
 * breaker, the persisted state and the action runner. The loop owns the batches and
 * drives them: batch_tick() at each interval, batch_run_actions() when due.
 */

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "breaker.h"
#include "cgroup.h"
#include "http.h"
#include "policy.h"
#include "state.h"

/* What every batch shares, owned by the loop. */
struct batch_env {
        struct http *http;
        struct cgroup_hierarchy *hierarchy; /* discovered or --cgroup-root; may be NULL */
        const char *state_dir;
        const char *host;
        FILE *trace;                       /* run --trace, or NULL */
        int64_t start_ms;                  /* monotonic ms at which t_ms = 0 */
        void (*evaluated)(void *userdata); /* called after each evaluated tick */
        void *userdata;
        int64_t (*now_ms)(void); /* the monotonic clock; NULL: the real one (tests fake it) */
        bool has_events;         /* kernel event sources go into events_fd (epoll) */
        int events_fd;
};

struct batch;

/*
 * Builds the runtime of policy p (taking ownership of it), restoring the batch's state
 * file: a trip stays latched and its pending actions resume. Returns 0 and *ret, or
 * -errno after logging why.
 */
int batch_new(struct policy *p, const struct stat *st, struct batch_env *env, int64_t now_ms,
              struct batch **ret);

/* Cancels what is in flight (pending actions stay pending in the state file) and frees. */
struct batch *batch_free(struct batch *b);

const char *batch_name(const struct batch *b);
const struct policy *batch_policy(const struct batch *b);
/* The identity of the file the policy came from, to skip unchanged files on reload. */
bool batch_same_file(const struct batch *b, const struct stat *st);

/* Next tick deadline (monotonic ms). */
int64_t batch_next_tick_ms(const struct batch *b);

/*
 * Starts a tick: finishes the previous one if scrapes were still running (they are
 * cancelled and count as no-data), samples the cgroups and starts this tick's scrapes.
 * The tick is evaluated once every scrape reported back, possibly right away.
 */
void batch_tick(struct batch *b, int64_t now_ms);
/* Counts one tick of b that took seconds (the loop's clock) in its tick histogram. */
void batch_tick_took(struct batch *b, double seconds);

/* Starts the next action attempt when one is due. */
void batch_run_actions(struct batch *b, int64_t now_ms);
/* When batch_run_actions() next has work; INT64_MAX when none is scheduled. */
int64_t batch_actions_due_ms(const struct batch *b);
size_t batch_pollfds(struct batch *b, struct pollfd *fds, size_t max);
void batch_dispatch(struct batch *b, const struct pollfd *fds, size_t n, int64_t now_ms);

/*
 * The pipeline's verdicts. reset: re-arm (clears the trip; the policy loaded last applies)
 * and count the reset in the keys' generation, or with release (a valid name, or NULL)
 * start a new rollout attempt under that release (state_release_reset()). promote: stop
 * watching. Return 0, or -EBUSY (promote of a tripped batch), -EINVAL (a bad release),
 * -EOVERFLOW (generation at its cap), -EIO when the state could not be saved.
 */
int batch_reset(struct batch *b, int64_t now_ms, const char *release);
int batch_promote(struct batch *b);

/*
 * A manual trip at now_ms with the operator's text (breaker_trip_manual()): latched,
 * recorded, saved and its actions started, like a rule's trip. Returns 0; -EALREADY when
 * already tripped (nothing is sent again), -EBUSY when promoted, -EINVAL for bad text,
 * -EIO when the trip could not be saved yet (it stays latched and is saved every tick).
 */
int batch_trip(struct batch *b, const char *text, int64_t now_ms);

/* Replaces the policy of a batch that is not latched; a latched one keeps it until reset. */
int batch_update_policy(struct batch *b, struct policy *p, const struct stat *st, int64_t now_ms);

enum breaker_phase batch_phase(const struct batch *b);
/*
 * How long the batch has been armed, in ms of its own evaluated ticks: from the first
 * armed tick of the current run to the last tick. 0 when not armed. Time in which no tick
 * was evaluated (the agent down) never counts, since a restart starts a new run.
 */
int64_t batch_healthy_ms(const struct batch *b);
/* The trip the state file holds (with its id), or NULL when none is recorded. */
const struct breaker_trip *batch_trip_record(const struct batch *b);
/* The release part of the keys and its reset generation (set false before any trip or reset). */
const struct state_release *batch_release(const struct batch *b);

/*
 * Handles readiness revents (epoll) of source, an event source of some batch (the epoll
 * data pointer batch_events_open() registered): an event brings that batch's next tick
 * forward to now_ms, at most one event tick per 100 ms (core/event-tick.h).
 */
void batch_event(void *source, uint32_t revents, int64_t now_ms);
/* How the batch learns of changes between ticks: "kernel", or "polling" when some target
 * could not register its event sources (the reason is in the log). */
const char *batch_events_status(const struct batch *b);

/* The batch's status object (see docs) as compact JSON text. Returns 0 and *ret (caller
 * frees), or -ENOMEM, -EINVAL. */
int batch_status_format(const struct batch *b, char **ret);
