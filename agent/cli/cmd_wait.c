/* SPDX-License-Identifier: MIT */
/* `oombreaker wait BATCH`: the pipeline gate, polling the daemon until a verdict. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "commands.h"
#include "ctl.h"

#define WAIT_POLL_MS       200
#define WAIT_DAEMON_GAP_MS 30000 /* a daemon restart shorter than this is ridden out */

/* One line summarising the streaks, to print when it changes. */
static void streak_summary(json_t *b, char *buf, size_t size)
{
        json_t *in, *st;
        size_t i, j, len = 0;

        buf[0] = '\0';
        json_array_foreach(json_object_get(b, "instances"), i, in)
        {
                json_array_foreach(json_object_get(in, "streaks"), j, st)
                {
                        long long n = json_integer_value(json_object_get(st, "streak"));

                        if (n > 0 && len < size)
                                len += (size_t)snprintf(
                                        buf + len, size - len, " %s/%s %lld/%lld",
                                        json_string_value(json_object_get(in, "instance")),
                                        json_string_value(json_object_get(st, "rule")), n,
                                        json_integer_value(json_object_get(st, "limit")));
                }
        }
}

struct wait_state {
        char phase[32];
        char streaks[512];
        int64_t since_ms; /* when the current phase began, as seen by this client */
};

/* Looks at one status answer; returns an exit code when the wait is over, else -1. */
static int wait_step(const struct ctl_opts *o, json_t *b, struct wait_state *w, int64_t now)
{
        const char *phase = ctl_phase_of(b);
        char streaks[512];

        streak_summary(b, streaks, sizeof(streaks));
        if (strcmp(phase, w->phase) != 0 || strcmp(streaks, w->streaks) != 0) {
                if (strcmp(phase, w->phase) != 0)
                        w->since_ms = now;
                snprintf(w->phase, sizeof(w->phase), "%s", phase);
                snprintf(w->streaks, sizeof(w->streaks), "%s", streaks);
                printf("%s: %s%s\n", o->batch, phase, streaks);
                fflush(stdout);
        }
        if (!strcmp(phase, "promoted"))
                return EXIT_OK;
        if (ctl_exit_code_for_phase(phase) == EXIT_TRIPPED) {
                ctl_print_trip(json_object_get(b, "trip"));
                return EXIT_TRIPPED;
        }
        if (o->bake_ms == 0 || now - w->since_ms < (int64_t)o->bake_ms)
                return -1;
        if (!strcmp(phase, "armed")) {
                printf("%s: healthy for %llu ms\n", o->batch, (unsigned long long)o->bake_ms);
                return EXIT_OK;
        }
        return !strcmp(phase, "inconclusive") ? EXIT_INCONCLUSIVE : -1;
}

static const char wait_usage[] =
        "Usage: oombreaker wait BATCH [--bake DUR] [--timeout DUR] [--socket PATH]\n\n"
        "The pipeline gate: blocks until the batch has a verdict, printing a line on each\n"
        "change. With --bake, returns 0 once the batch stayed armed (healthy) that long;\n"
        "without it, only a promotion or a trip ends the wait.\n\n"
        "  --bake DUR        e.g. 10m; healthy time needed for exit 0\n"
        "  --timeout DUR     give up after DUR with exit 124\n"
        "  --socket PATH     the daemon's control socket (default " CTL_SOCKET_DEFAULT ")\n"
        "  --state-dir DIR   accepted for symmetry with status\n\n"
        "Exit codes: 0 healthy for --bake or promoted, 1 error or no daemon, 2 tripped or\n"
        "failed, 3 inconclusive for --bake, 124 timed out.\n";

int cmd_wait(int argc, char **argv)
{
        static const struct option options[] = {
                CTL_OPTION_SOCKET,
                CTL_OPTION_STATE_DIR,
                { "bake", required_argument, NULL, CTL_OPT_BAKE },
                { "timeout", required_argument, NULL, CTL_OPT_TIMEOUT },
                {},
        };
        struct wait_state w = { .phase = "" };
        int64_t start = mono_ms(), last_ok = start;
        struct ctl_opts o;
        int q;

        q = ctl_parse(argc, argv, wait_usage, options, true, &o);
        if (q <= 0)
                return q == 0 ? EXIT_OK : EXIT_CONFIG;
        for (bool first = true;; first = false) {
                json_t *resp = NULL;
                int64_t now = mono_ms(), left = (int64_t)o.timeout_ms - (now - start);
                int r, code = -1;

                if (o.timeout_ms && left <= 0) {
                        fprintf(stderr, "oombreaker wait: %s: no verdict within the timeout\n",
                                o.batch);
                        return EXIT_TIMEOUT;
                }
                /* A daemon slow to answer must not stretch --timeout. */
                r = ctl_call_within(&o, "status",
                                    o.timeout_ms && left < CTL_CALL_TIMEOUT_MS
                                            ? (int)left
                                            : CTL_CALL_TIMEOUT_MS,
                                    &resp);
                if (r == -ETIMEDOUT && o.timeout_ms && mono_ms() - start >= (int64_t)o.timeout_ms)
                        continue;
                if (r < 0 && (first || now - last_ok > WAIT_DAEMON_GAP_MS)) {
                        ctl_explain_call_error("wait", &o, r);
                        return EXIT_CONFIG;
                }
                if (r >= 0 && !json_is_true(json_object_get(resp, "ok"))) {
                        fprintf(stderr, "oombreaker wait: %s\n",
                                json_string_value(json_object_get(resp, "error")));
                        json_decref(resp);
                        return EXIT_CONFIG;
                }
                if (r >= 0) {
                        last_ok = now;
                        code = wait_step(&o, json_array_get(json_object_get(resp, "batches"), 0),
                                         &w, now);
                        json_decref(resp);
                }
                if (code >= 0)
                        return code;
                nanosleep(&(struct timespec){ .tv_nsec = WAIT_POLL_MS * 1000000L }, NULL);
        }
}
