/* SPDX-License-Identifier: MIT */
#pragma once

/* The loop's innards, shared by loop.c and loop-policies.c only. */

#include <stdbool.h>
#include <stdint.h>

#include "batch.h"
#include "cgroup.h"
#include "control.h"
#include "http.h"
#include "loop.h"
#include "server.h"

#define LOOP_IDLE_TICK_MS 5000 /* the heartbeat when no batch is loaded */
#define LOOP_WAIT_MAX_MS  1000
#define LOOP_FDS_MAX      (2 + CONTROL_CLIENTS_MAX + 1 + LOOP_BATCHES_MAX)

#define N_BUCKETS 9 /* tick_buckets[] in loop.c */

struct loop {
        const struct loop_config *cfg;
        struct http *http;
        int tfd;
        int sfd;
        int lock_fd; /* flock of <state dir>/.lock */
        struct control *control;
        struct server *server;
        struct batch *batches[LOOP_BATCHES_MAX];
        size_t n;
        struct batch_env env;
        struct cgroup_hierarchy *hierarchy;
        char host[256];
        bool quit;
        bool reload;
        bool publish;
        bool ticked;          /* a tick completed since the last watchdog ping */
        int64_t watchdog_ms;  /* systemd's watchdog timeout; 0: off */
        int64_t last_ping_ms; /* the last WATCHDOG=1 */
        int64_t idle_next_ms;
        int64_t last_tick_end_ms;
        uint64_t tick_buckets[N_BUCKETS];
        uint64_t tick_count;
        double tick_sum_s;
};

/* The batch named name, or NULL. */
struct batch *loop_find_batch(struct loop *l, const char *name);
/* Called after each evaluated tick (struct batch_env.evaluated). */
void loop_on_evaluated(void *userdata);
/* At start: --policy files must load; a bad file in --policy-dir is logged and skipped. */
int loop_load_all(struct loop *l);
/* SIGHUP: new batches are armed, removed ones dropped, changed ones updated in place. */
void loop_reload(struct loop *l);
