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
#define WAIT_DAEMON_GAP_MS 30000 /* without --timeout, a daemon down longer ends the wait */

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
        int64_t since_ms;  /* when the current phase began, as seen by this client */
        char run[32];      /* the agent run that answered last */
        int64_t banked_ms; /* healthy time earlier agent runs observed (armed throughout) */
        int64_t run_ms;    /* healthy time the current run observed since base_ms */
        int64_t base_ms;   /* the run's healthy_ms when this wait first saw it: not ours */
};

/*
 * The bake clock: only time the agent judged healthy tick by tick counts. A restart (a new
 * agent_run) banks what the old run saw and starts from the new run's own ticks, so time
 * with no agent never counts; any other phase than armed starts the bake again.
 */
static int64_t bake_progress(json_t *resp, json_t *b, struct wait_state *w)
{
        const char *run = json_string_value(json_object_get(resp, "agent_run"));

        if (!run)
                run = "";
        int64_t healthy = json_integer_value(json_object_get(b, "healthy_ms"));

        if (strcmp(run, w->run)) {
                /* Healthy time from before this wait began does not count; a restarted
                 * agent's ticks all came after it. */
                w->base_ms = w->run[0] ? 0 : healthy;
                w->banked_ms += w->run_ms;
                w->run_ms = 0;
                snprintf(w->run, sizeof(w->run), "%s", run);
        }
        if (strcmp(ctl_phase_of(b), "armed")) {
                w->banked_ms = w->run_ms = w->base_ms = 0;
                return 0;
        }
        w->run_ms = healthy > w->base_ms ? healthy - w->base_ms : 0;
        return w->banked_ms + w->run_ms;
}

/* Looks at one status answer; returns an exit code when the wait is over, else -1. */
static int wait_step(const struct ctl_opts *o, json_t *resp, struct wait_state *w, int64_t now)
{
        json_t *b = json_array_get(json_object_get(resp, "batches"), 0);
        const char *phase = ctl_phase_of(b);
        char streaks[512];
        int64_t healthy = bake_progress(resp, b, w);

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
        if (o->bake_ms && !strcmp(phase, "armed") && healthy >= (int64_t)o->bake_ms) {
                printf("%s: healthy for %llu ms of observed ticks\n", o->batch,
                       (unsigned long long)healthy);
                return EXIT_OK;
        }
        if (o->bake_ms && !strcmp(phase, "inconclusive") &&
            now - w->since_ms >= (int64_t)o->bake_ms)
                return EXIT_INCONCLUSIVE;
        return -1;
}

/* The agent cannot be reached: a trip its state file holds is still the verdict. */
static int wait_down(const struct ctl_opts *o)
{
        json_t *b = ctl_state_file_json(NULL, o->state_dir, o->batch);
        int code = -1;

        if (b && ctl_exit_code_for_phase(ctl_phase_of(b)) == EXIT_TRIPPED) {
                printf("%s: %s (from the state file; the agent is not answering)\n", o->batch,
                       ctl_phase_of(b));
                ctl_print_trip(json_object_get(b, "trip"));
                code = EXIT_TRIPPED;
        }
        json_decref(b);
        return code;
}

static const char wait_usage[] =
        "Usage: oombreaker wait BATCH [--bake DUR] [--timeout DUR] [--socket PATH]\n"
        "                       [--state-dir DIR]\n"
        "       oombreaker wait --prometheus URL --batch NAME [--min-nodes K] [--trip-nodes N]\n"
        "                       [--stale-after DUR] [--bake DUR] [--timeout DUR]\n\n"
        "The pipeline gate: blocks until the batch has a verdict, printing a line on each\n"
        "change. With --bake, returns 0 once the agent has judged the batch armed (healthy)\n"
        "for that long, counting only its evaluated ticks: while the agent is down or\n"
        "restarting the bake clock stops. Without --bake, only a promotion or a trip ends it.\n\n"
        "  --bake DUR        e.g. 10m; healthy time needed for exit 0\n"
        "  --timeout DUR     give up after DUR: exit 124, or 4 when the agent was down\n"
        "  --socket PATH     the daemon's control socket (default " CTL_SOCKET_DEFAULT ")\n"
        "  --state-dir DIR   while the agent is down, a trip recorded here still ends the\n"
        "                    wait with exit 2 (default " CTL_STATE_DIR_DEFAULT ")\n\n"
        "The fleet gate asks a Prometheus server that scrapes every node's agent instead\n"
        "(the nodes are told apart by the instance label). It exits 2 once --trip-nodes\n"
        "nodes report the batch tripped, and 0 once at least --min-nodes nodes report it\n"
        "and every node seen in the last 10 minutes is up, current and armed for --bake.\n"
        "A node that is down, has no current sample or a stale one is reported missing,\n"
        "never counted healthy.\n\n"
        "  --prometheus URL  the server, e.g. http://prometheus:9090\n"
        "  --batch NAME      the batch to judge across the nodes\n"
        "  --min-nodes K     nodes expected to report the batch (default 1)\n"
        "  --trip-nodes N    tripped nodes that trip the gate (default 1: any)\n"
        "  --stale-after DUR a sample older than this is missing (default 45s: three\n"
        "                    scrapes at Prometheus' default interval)\n\n"
        "Exit codes: 0 healthy for --bake or promoted, 1 error, 2 tripped or failed,\n"
        "3 inconclusive for --bake, 4 agent or Prometheus unreachable (down past --timeout,\n"
        "or for 30 s without --timeout; also no node reporting the batch), 124 timed out.\n";

/* One status call, bounded so that a daemon slow to answer cannot stretch --timeout. */
static int poll_status(const struct ctl_opts *o, int64_t left, json_t **ret)
{
        return ctl_call_within(
                o, "status",
                o->timeout_ms && left < CTL_CALL_TIMEOUT_MS ? (int)left : CTL_CALL_TIMEOUT_MS, ret);
}

/* The wait is over for want of time: 4 when the agent was down at the end, else 124. */
static int out_of_time(const struct ctl_opts *o, bool down)
{
        if (down) {
                fprintf(stderr, "oombreaker wait: %s: the agent stayed unreachable on %s\n",
                        o->batch, o->socket);
                return EXIT_UNREACHABLE;
        }
        fprintf(stderr, "oombreaker wait: %s: no verdict within the timeout\n", o->batch);
        return EXIT_TIMEOUT;
}

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
        bool down = false, reached = false;
        struct ctl_opts o;
        int q;

        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
                if (!strncmp(argv[i], "--prometheus", 12) &&
                    (argv[i][12] == '\0' || argv[i][12] == '='))
                        return cmd_wait_fleet(argc, argv, wait_usage);
        q = ctl_parse(argc, argv, wait_usage, options, true, &o);
        if (q <= 0)
                return q == 0 ? EXIT_OK : EXIT_CONFIG;
        for (;;) {
                json_t *resp = NULL;
                int64_t now = mono_ms(), left = (int64_t)o.timeout_ms - (now - start);
                int r, code = -1;

                if (o.timeout_ms && left <= 0)
                        return out_of_time(&o, down);
                r = poll_status(&o, left, &resp);
                if (r == -EACCES || r == -EPERM) {
                        ctl_explain_call_error("wait", &o, r);
                        return EXIT_CONFIG;
                }
                if (r >= 0 && !json_is_true(json_object_get(resp, "ok"))) {
                        fprintf(stderr, "oombreaker wait: %s\n",
                                json_string_value(json_object_get(resp, "error")));
                        json_decref(resp);
                        return EXIT_CONFIG;
                }
                /* Our own deadline cutting a slow answer short is no sign of a dead agent. */
                down = r < 0 && !(r == -ETIMEDOUT && o.timeout_ms &&
                                  mono_ms() - start >= (int64_t)o.timeout_ms);
                if (r >= 0) {
                        reached = true;
                        last_ok = mono_ms();
                        code = wait_step(&o, resp, &w, now);
                        json_decref(resp);
                } else {
                        code = wait_down(&o);
                        /* Never reached: fail at once. Gone after answering: ride it out. */
                        if (code < 0 &&
                            (!reached || (!o.timeout_ms && now - last_ok > WAIT_DAEMON_GAP_MS))) {
                                ctl_explain_call_error("wait", &o, r);
                                return EXIT_UNREACHABLE;
                        }
                }
                if (code >= 0)
                        return code;
                nanosleep(&(struct timespec){ .tv_nsec = WAIT_POLL_MS * 1000000L }, NULL);
        }
}
