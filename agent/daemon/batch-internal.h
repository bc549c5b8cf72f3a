/* SPDX-License-Identifier: MIT */
#pragma once

/* The run-time batch's innards, shared by the batch*.c files only. */

#include "actions.h"
#include "batch.h"
#include "log.h"
#include "events.h"
#include "promql.h"
#include "tick-stats.h"
#include "scrape.h"

/* Logs an event of batch b, with its name as the OOMBREAKER_BATCH field. */
#define batch_log(level, b, ...) log_full(level, LOG_FIELDS(.batch = (b)->p->name), __VA_ARGS__)

#define BATCH_SAVE_RETRY_MS   1000  /* a failed state save is retried this often */
#define BATCH_EVENT_SOURCES   3     /* per target: OOM (v1) or memory.events (v2), PSI some, full */
#define BATCH_LIMIT_REREAD_MS 10000 /* a cgroup's limit file is read again this often */

/*
 * What status shows of a target's last evaluated tick beyond the breaker's figures: its
 * limit, which inputs were missing, and why (the reasons are NULL when empty, else heap
 * copies, replaced only when the text changes, so a steady tick allocates nothing). The
 * whole struct sample would keep 512 bytes of reason text per target, nearly always empty.
 */
struct target_last {
        bool has_current;
        bool has_max;
        bool max_unlimited;
        bool has_runtime; /* any runtime figure */
        uint64_t max_bytes;
        uint64_t oom_kill; /* 0 without the figure */
        char *memory_error;
        char *runtime_error;
};

struct batch_target {
        struct batch *b;
        size_t index;
        char *path; /* the cgroup path or glob, as cgroup_target_path() made it */
        struct cgroup_hierarchy *own_hierarchy; /* from the target's cgroup_root */
        struct cgroup_target *cg;
        struct scrape *sc;
        struct promql_source *pq; /* a promql target's queries (then no cg, path or events) */
        struct sample cur;        /* the tick being collected */
        struct target_last last;  /* the last evaluated tick, for status */
        bool scrape_failing;
        bool was_gone;
        uint64_t errors[2];  /* sample_errors_total: [0] cgroup, [1] metrics */
        bool baseline_saved; /* the state holds saved_baseline as this OOM baseline */
        uint64_t saved_baseline;
        struct events_source ev[BATCH_EVENT_SOURCES]; /* in the loop's epoll set */
        size_t n_ev;
};

struct batch {
        struct policy *p;
        struct policy *pending; /* a changed policy that waits for the latch to be reset */
        struct stat file;
        struct batch_env *env;
        struct breaker *br;
        struct state *st;
        struct actions *act;
        struct batch_target *t;
        size_t n_t;
        int64_t next_tick_ms;
        int64_t tick_t_ms;
        int64_t armed_since_t_ms; /* first tick of the current armed run; -1 when not armed */
        size_t outstanding;       /* scrapes of the tick still out */
        bool collecting;
        uint64_t trips_total;
        uint64_t (*attempts)[2];    /* per action: [0] ok, [1] error */
        bool state_dirty;           /* the state changed and is not on disk yet */
        int64_t save_due_ms;        /* when a failed save is tried again */
        bool dry_run_noted;         /* "pending actions not sent" was logged */
        bool record_failing;        /* recording the trip failed; logged once until it works */
        bool event_due;             /* a kernel event brought the next tick forward */
        bool oom_recheck;           /* a v1 OOM event: recheck oom_kill 100 ms after its tick */
        int64_t last_event_tick_ms; /* TICK_NEVER before the first */
        char events_note[EVENTS_REASON_MAX + 128]; /* why a target is polled; "" = none */
        struct tick_stats ticks;                   /* how long its ticks took, for /metrics */
};

static inline const char *target_name(const struct batch_target *t)
{
        return t->b->p->targets[t->index].name;
}

/* The monotonic clock the batch runs on: env->now_ms, or the real one. */
int64_t batch_now_ms(const struct batch *b);

/* Saves the state file, logging a failure. Returns 0 or -errno. */
int batch_save_state(struct batch *b);

/*
 * The one writer of the state file, after a tick at now_ms: records a latched trip the
 * state does not hold yet (retried every tick until it works), runs the actions (each
 * attempt saved before it is sent, so the trip's record goes out with the first one) and
 * saves what is still unsaved.
 */
void batch_act(struct batch *b, int64_t now_ms);
/* Registers every target's kernel event sources (when env->has_events); a target that cannot
 * have them is polled, noted in b->events_note and logged once. */
void batch_events_open(struct batch *b);
/* Closes a target's event sources (which leaves the epoll set). */
void batch_events_close(struct batch_target *t);

/* batch-log.c: the trace lines of a tick (judged: the breaker evaluated it, so its forecast
 * is this tick's), the trip's log line (counting it), a transition's, and a healthy tick's
 * (debug). */
void batch_write_trace(struct batch *b, bool judged);
void batch_announce_trip(struct batch *b, const struct breaker_trip *bt);
void batch_log_transition(struct batch *b, const struct breaker_transition *tr);
void batch_log_tick(const struct batch *b);

/* Opens the cgroup and scrape handles of every target of b->p. Returns 0 or -errno. */
int batch_targets_new(struct batch *b);
/* Closes them; safe on a partly built batch. */
void batch_targets_free(struct batch *b);
