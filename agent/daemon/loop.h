/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The agent's single thread: one curl_multi_poll() waits on curl's sockets, a timerfd
 * (ticks and retries, on the monotonic clock), a signalfd, the control socket and
 * HAProxy requests. Nothing in it blocks: a hung webhook or endpoint never delays a tick.
 */

#include <stdbool.h>
#include <stddef.h>

#define LOOP_BATCHES_MAX 128

struct loop_config {
        const char **policy_files; /* --policy, n_policy_files of them */
        size_t n_policy_files;
        const char *policy_dir; /* --policy-dir, or NULL */
        const char *state_dir;
        const char *socket;      /* control socket path */
        const char *listen;      /* "ADDR:PORT", or NULL for none */
        const char *cgroup_root; /* NULL: discover */
        const char *trace;       /* run --trace FILE, or NULL */
        bool dry_run;            /* force every batch into dry run */
};

/*
 * Loads the policies, opens the sockets and runs until SIGTERM or SIGINT. Returns the exit
 * code: 0 after a clean stop, 1 for a configuration error at start.
 */
int loop_run(const struct loop_config *cfg);
