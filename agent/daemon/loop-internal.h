/* SPDX-License-Identifier: MIT */
#pragma once

/* The loop's innards, shared by the loop*.c files and test-loop.c only. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "batch.h"
#include "cgroup.h"
#include "control.h"
#include "exposition.h"
#include "http.h"
#include "events.h"
#include "loop.h"
#include "notify.h"
#include "server.h"

#define LOOP_IDLE_TICK_MS       5000 /* the heartbeat when no batch is loaded */
#define LOOP_WAIT_MAX_MS        1000
#define LOOP_POLICY_ERRORS_MAX  16  /* invalid policy files that status lists */
#define LOOP_RESCAN_DEBOUNCE_MS 100 /* a policy-dir change waits this long for more */
#define LOOP_FDS_MAX            (2 + CONTROL_CLIENTS_MAX + 1 + LOOP_BATCHES_MAX + 2)

/* Where the loop reads the time: the monotonic clock, or a test's fake one. */
struct loop_clock {
        uint64_t (*now_ns)(void *userdata);
        void *userdata;
};

struct loop {
        const struct loop_config *cfg;
        struct loop_clock clock;
        struct http *http;
        int tfd;
        int sfd;
        int efd; /* epoll set of the kernel event sources (batch_event()) */
        struct events_source policy_watch; /* inotify on --policy-dir */
        int64_t rescan_due_ms;             /* a policy-dir change is pending; 0: none */
        char policy_errors[LOOP_POLICY_ERRORS_MAX][640]; /* "FILE:LINE: message" of invalid files */
        size_t n_policy_errors;
        int lock_fd; /* flock of <state dir>/.lock */
        struct control *control;
        struct server *server;
        struct batch *batches[LOOP_BATCHES_MAX];
        size_t n;
        struct batch_env env;
        struct cgroup_hierarchy *hierarchy;
        char host[256];
        char run_id[17]; /* random per process: wait tells a restarted agent from this one */
        char status_line[NOTIFY_STATUS_MAX]; /* the last one sent to systemd */
        bool quit;
        bool reload;
        bool publish;
        bool ticked;          /* a tick completed since the last watchdog ping */
        bool trim_due;        /* a page or a control reply was built since the last publish */
        int64_t watchdog_ms;  /* systemd's watchdog timeout; 0: off */
        int64_t last_ping_ms; /* the last WATCHDOG=1 */
        int64_t idle_next_ms;
        int64_t last_tick_end_ms;
};

static inline uint64_t loop_now_ns(const struct loop *l)
{
        return l->clock.now_ns(l->clock.userdata);
}

static inline int64_t loop_now_ms(const struct loop *l)
{
        return (int64_t)(loop_now_ns(l) / 1000000u);
}

/* Ticks every batch whose tick is due at now (monotonic ms), then its due action attempts. */
void loop_run_due(struct loop *l, int64_t now);
/* The next time anything is due (ms); INT64_MAX when nothing is. */
int64_t loop_next_deadline(const struct loop *l);
/*
 * Opens what the batches share (the cgroup hierarchy, the HTTP client, the trace file) and
 * fills l->env; no sockets, no signals. Returns 0 or -errno after logging why.
 */
int loop_setup_env(struct loop *l);
/* Frees the batches and closes whatever setup opened; fine on a partly set up loop. */
void loop_teardown(struct loop *l);

/* After ticks: the last tick's time for /healthz, STATUS= when it changed, the watchdog ping.
 * Renders nothing: /metrics and /status are built when asked (loop_render()). */
void loop_publish(struct loop *l);
/* The server's render callback (server_render_fn): a page built now from the state in memory. */
int loop_render(void *userdata, enum server_page page, char **ret_body);
/* Pings systemd's watchdog between long ticks while every batch is on schedule. */
void loop_watchdog_keepalive(struct loop *l, int64_t now);
/* The status JSON of every batch, compact; malloc'd, or NULL. */
char *loop_status_text(const struct loop *l);
/* The control socket's handler (control_open()'s callback); userdata is the loop. */
char *loop_on_control(void *userdata, const struct control_peer *peer, const char *line,
                      size_t len);

/* The batch named name, or NULL. */
static inline struct batch *loop_find_batch(struct loop *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (!strcmp(batch_name(l->batches[i]), name))
                        return l->batches[i];
        return NULL;
}
/* Called after each evaluated tick (struct batch_env.evaluated). */
void loop_on_evaluated(void *userdata);
/* At start: --policy files must load; a bad file in --policy-dir is logged and skipped. */
int loop_load_all(struct loop *l);
/* SIGHUP: new batches are armed, removed ones dropped, changed ones updated in place. */
void loop_reload(struct loop *l);
/* The same rescan without systemd's RELOADING=1: a change in --policy-dir seen by inotify. */
void loop_rescan(struct loop *l);
/* Watches --policy-dir (if any) into l->efd; logs and falls back to SIGHUP only on failure. */
void loop_watch_policy_dir(struct loop *l);
/* Handles readiness of the policy-dir watch: schedules a rescan LOOP_RESCAN_DEBOUNCE_MS on. */
void loop_policy_dir_event(struct loop *l, uint32_t revents, int64_t now);
