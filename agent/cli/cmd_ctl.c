/* SPDX-License-Identifier: MIT */
/*
 * The pipeline's side: status, wait, reset and promote. They talk to the running daemon
 * over its control socket; status alone falls back to the state files when none answers.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "control.h"
#include "report.h"
#include "state.h"
#include "clock.h"
#include "units.h"
#include "util.h"

#define DEFAULT_SOCKET      "/run/oombreaker/control.sock"
#define DEFAULT_STATE_DIR   STATE_DIR_DEFAULT
#define CALL_TIMEOUT_MS     5000
#define CTL_DURATION_MAX_MS (30ull * 24 * 3600 * 1000) /* --bake and --timeout */

struct ctl_opts {
        const char *socket;
        const char *state_dir;
        const char *batch;
        bool json;
        uint64_t bake_ms;
        uint64_t timeout_ms; /* 0 = none */
};

enum {
        OPT_SOCKET = 0x100,
        OPT_STATE_DIR,
        OPT_JSON,
        OPT_BAKE,
        OPT_TIMEOUT,
};

static const struct option long_options[] = {
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "json", no_argument, NULL, OPT_JSON },
        { "bake", required_argument, NULL, OPT_BAKE },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        {},
};

static int parse_duration_opt(const char *cmd, const char *opt, const char *arg, uint64_t *ret)
{
        if (units_parse_duration(arg, ret) < 0) {
                fprintf(stderr,
                        "oombreaker %s: --%s: \"%s\" is not a duration (use 500ms, 5s, 2m)\n", cmd,
                        opt, arg);
                return -EINVAL;
        }
        if (*ret > CTL_DURATION_MAX_MS) {
                fprintf(stderr, "oombreaker %s: --%s: \"%s\" is longer than 30 days\n", cmd, opt,
                        arg);
                return -ERANGE;
        }
        return 0;
}

struct ctl_parse {
        struct ctl_opts *o;
        const char *cmd;
        const char *allowed; /* 'j': --json, 'w': --bake and --timeout */
};

static int set_option(int id, const char *arg, void *userdata)
{
        struct ctl_parse *p = userdata;
        struct ctl_opts *o = p->o;
        bool ok = id == OPT_SOCKET || id == OPT_STATE_DIR ||
                  (id == OPT_JSON && strchr(p->allowed, 'j')) ||
                  ((id == OPT_BAKE || id == OPT_TIMEOUT) && strchr(p->allowed, 'w'));

        if (!ok) {
                fprintf(stderr, "oombreaker %s: see 'oombreaker %s --help'\n", p->cmd, p->cmd);
                return -EINVAL;
        }
        if (id == OPT_SOCKET)
                o->socket = arg;
        else if (id == OPT_STATE_DIR)
                o->state_dir = arg;
        else if (id == OPT_JSON)
                o->json = true;
        else if (id == OPT_BAKE)
                return parse_duration_opt(p->cmd, "bake", arg, &o->bake_ms);
        else if (id == OPT_TIMEOUT)
                return parse_duration_opt(p->cmd, "timeout", arg, &o->timeout_ms);
        return 0;
}

/*
 * Parses the options common to the four commands; allowed says which extras apply.
 * Returns 1 to go on, 0 when --help or --version was answered, or -EINVAL.
 */
static int parse_opts(int argc, char **argv, const char *usage, const char *allowed,
                      bool batch_required, struct ctl_opts *o)
{
        struct ctl_parse p = { .o = o, .cmd = argv[0], .allowed = allowed };
        int first;

        *o = (struct ctl_opts){ .socket = DEFAULT_SOCKET, .state_dir = DEFAULT_STATE_DIR };
        first = cli_parse(argc, argv, usage, long_options, set_option, &p);
        if (first <= 0)
                return first;
        if (first < argc)
                o->batch = argv[first++];
        if (first < argc || (batch_required && !o->batch)) {
                fprintf(stderr, "oombreaker %s: %s (see 'oombreaker %s --help')\n", argv[0],
                        o->batch ? "too many arguments" : "missing BATCH", argv[0]);
                return -EINVAL;
        }
        return 1;
}

/* Sends {"cmd": cmd, "batch": batch}; prints why on failure. */
static int call_within(const struct ctl_opts *o, const char *cmd, int timeout_ms, json_t **ret)
{
        json_t *req = json_pack("{s:s}", "cmd", cmd);
        int r;

        if (o->batch)
                json_object_set_new(req, "batch", json_string(o->batch));
        r = control_call(o->socket, req, timeout_ms, ret);
        json_decref(req);
        return r;
}

static int call(const struct ctl_opts *o, const char *cmd, json_t **ret)
{
        return call_within(o, cmd, CALL_TIMEOUT_MS, ret);
}

static void explain_call_error(const char *cmd, const struct ctl_opts *o, int r)
{
        if (r == -ENOENT || r == -ECONNREFUSED)
                fprintf(stderr,
                        "oombreaker %s: no daemon answers on %s: is 'oombreaker run' (the "
                        "oombreaker service) running? Use --socket PATH for another socket.\n",
                        cmd, o->socket);
        else if (r == -EACCES || r == -EPERM)
                fprintf(stderr,
                        "oombreaker %s: permission denied on %s: run as root or as a member of "
                        "the socket's group.\n",
                        cmd, o->socket);
        else
                fprintf(stderr, "oombreaker %s: talking to %s failed: %s\n", cmd, o->socket,
                        strerror(-r));
}

static const char *phase_of(json_t *batch)
{
        const char *p = json_string_value(json_object_get(batch, "phase"));

        return p ? p : "unknown";
}

static int ctl_exit_code_for_phase(const char *phase)
{
        if (!strcmp(phase, "tripped") || !strcmp(phase, "rolled_back") || !strcmp(phase, "failed"))
                return EXIT_TRIPPED;
        if (!strcmp(phase, "inconclusive"))
                return EXIT_INCONCLUSIVE;
        return EXIT_OK;
}

static void print_trip(json_t *trip)
{
        json_t *c;
        size_t i;

        if (!json_is_object(trip))
                return;
        printf("  trip: instance %s, rule %s, %lld/%lld in a row",
               json_string_value(json_object_get(trip, "instance")),
               json_string_value(json_object_get(trip, "rule")),
               json_integer_value(json_object_get(trip, "consecutive")),
               json_integer_value(json_object_get(trip, "limit")));
        json_array_foreach(json_object_get(trip, "conditions"), i, c)
        {
                printf("%s %s %g (threshold %g)", i ? "," : ":",
                       json_string_value(json_object_get(c, "metric")),
                       json_number_value(json_object_get(c, "value")),
                       json_number_value(json_object_get(c, "threshold")));
        }
        printf("\n");
}

/* An instance's figure of metric m in status JSON, or NULL. */
static json_t *figure(json_t *in, enum cond_metric m)
{
        json_t *v = json_object_get(in, metric_get(m)->status_key);

        return json_is_number(v) ? v : NULL;
}

static void print_instance(json_t *in)
{
        json_t *st, *v;
        size_t i;

        printf("  %-16s", json_string_value(json_object_get(in, "instance")));
        if ((v = figure(in, COND_MEMORY_RATIO)))
                printf(" memory %.1f%%", 100.0 * json_number_value(v));
        if ((v = figure(in, COND_MEMORY_BYTES)))
                printf(" (%.1f MiB)", json_number_value(v) / 1048576.0);
        if ((v = figure(in, COND_GC_PER_MINUTE)))
                printf(" gc/min %.1f", json_number_value(v));
        json_array_foreach(json_object_get(in, "streaks"), i, st)
        {
                printf("%s %s %lld/%lld",
                       i ? "," : "  streaks:", json_string_value(json_object_get(st, "rule")),
                       json_integer_value(json_object_get(st, "streak")),
                       json_integer_value(json_object_get(st, "limit")));
        }
        if ((v = json_object_get(in, "error")) && json_is_string(v))
                printf("  no data: %s", json_string_value(v));
        printf("\n");
}

static void print_batch(json_t *b)
{
        json_t *x;
        size_t i;

        printf("%s: %s%s\n", json_string_value(json_object_get(b, "batch")), phase_of(b),
               json_is_true(json_object_get(b, "dry_run")) ? " (dry run)" : "");
        print_trip(json_object_get(b, "trip"));
        json_array_foreach(json_object_get(b, "instances"), i, x) print_instance(x);
        json_array_foreach(json_object_get(b, "actions"), i, x)
        {
                json_t *res = json_object_get(x, "result");

                printf("  action %s: %s, %lld attempt(s)%s%s\n",
                       json_string_value(json_object_get(x, "action")),
                       json_string_value(json_object_get(x, "status")),
                       json_integer_value(json_object_get(x, "attempts")), res ? ", " : "",
                       res ? json_string_value(res) : "");
        }
}

/* Reads <state_dir>/<batch>.json (or every *.json) when no daemon answers. */
static int ctl_status_from_state_dir(const char *state_dir, const char *batch,
                                     json_t **ret_batches);

static int print_batches(json_t *batches, const struct ctl_opts *o)
{
        json_t *b;
        size_t i;
        int code = EXIT_OK;

        if (json_array_size(batches) == 0 && !o->json)
                printf("no batches\n");
        if (o->json) {
                json_t *out = o->batch && json_array_size(batches) == 1
                                      ? json_incref(json_array_get(batches, 0))
                                      : json_pack("{s:O}", "batches", batches);

                json_dumpf(out, stdout, JSON_COMPACT);
                printf("\n");
                json_decref(out);
        }
        json_array_foreach(batches, i, b)
        {
                int c = ctl_exit_code_for_phase(phase_of(b));

                if (!o->json)
                        print_batch(b);
                if (c == EXIT_TRIPPED || (c == EXIT_INCONCLUSIVE && code == EXIT_OK))
                        code = c;
        }
        return code;
}

static const char status_usage[] =
        "Usage: oombreaker status [BATCH] [--json] [--socket PATH] [--state-dir DIR]\n\n"
        "Prints each batch's verdict, streaks, last values and trip reason, from the running\n"
        "daemon, or from the state files when no daemon answers.\n\n"
        "  --json            one JSON object (the batch, or {\"batches\": [...]})\n"
        "  --socket PATH     the daemon's control socket (default " DEFAULT_SOCKET ")\n"
        "  --state-dir DIR   state files (default " DEFAULT_STATE_DIR ")\n\n"
        "Exit codes: 0 healthy, 1 error, 2 tripped or failed, 3 inconclusive.\n";

int cmd_status(int argc, char **argv)
{
        json_t *resp = NULL, *batches;
        struct ctl_opts o;
        int r, code;

        r = parse_opts(argc, argv, status_usage, "j", false, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        r = call(&o, "status", &resp);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "oombreaker status: no daemon answers on %s; reading %s\n",
                        o.socket, o.state_dir);
                r = ctl_status_from_state_dir(o.state_dir, o.batch, &batches);
                if (r < 0)
                        return EXIT_CONFIG;
        } else if (r < 0) {
                explain_call_error("status", &o, r);
                return EXIT_CONFIG;
        } else if (!json_is_true(json_object_get(resp, "ok"))) {
                fprintf(stderr, "oombreaker status: %s\n",
                        json_string_value(json_object_get(resp, "error")));
                json_decref(resp);
                return EXIT_CONFIG;
        } else {
                batches = json_incref(json_object_get(resp, "batches"));
                json_decref(resp);
        }
        code = print_batches(batches, &o);
        json_decref(batches);
        return code;
}

static int change_phase(int argc, char **argv, const char *usage)
{
        json_t *resp = NULL;
        struct ctl_opts o;
        int r;

        r = parse_opts(argc, argv, usage, "", true, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        r = call(&o, argv[0], &resp);
        if (r < 0) {
                explain_call_error(argv[0], &o, r);
                return EXIT_CONFIG;
        }
        if (!json_is_true(json_object_get(resp, "ok"))) {
                fprintf(stderr, "oombreaker %s: %s\n", argv[0],
                        json_string_value(json_object_get(resp, "error")));
                json_decref(resp);
                return EXIT_CONFIG;
        }
        printf("%s: %s\n", o.batch, json_string_value(json_object_get(resp, "phase")));
        json_decref(resp);
        return EXIT_OK;
}

static const char reset_usage[] =
        "Usage: oombreaker reset BATCH [--socket PATH] [--state-dir DIR]\n\n"
        "Re-arms a batch: clears the latch, the streaks and the trip; OOM kills are counted\n"
        "afresh. Only root or members of the control socket's group may reset.\n";

int cmd_reset(int argc, char **argv)
{
        return change_phase(argc, argv, reset_usage);
}

static const char promote_usage[] =
        "Usage: oombreaker promote BATCH [--socket PATH] [--state-dir DIR]\n\n"
        "Marks a batch promoted: it is no longer watched and 'wait' returns 0. Only root or\n"
        "members of the control socket's group may promote.\n";

int cmd_promote(int argc, char **argv)
{
        return change_phase(argc, argv, promote_usage);
}

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
        const char *phase = phase_of(b);
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
                print_trip(json_object_get(b, "trip"));
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
        "  --socket PATH     the daemon's control socket (default " DEFAULT_SOCKET ")\n"
        "  --state-dir DIR   accepted for symmetry with status\n\n"
        "Exit codes: 0 healthy for --bake or promoted, 1 error or no daemon, 2 tripped or\n"
        "failed, 3 inconclusive for --bake, 124 timed out.\n";

int cmd_wait(int argc, char **argv)
{
        struct wait_state w = { .phase = "" };
        int64_t start = mono_ms(), last_ok = start;
        struct ctl_opts o;
        int q;

        q = parse_opts(argc, argv, wait_usage, "w", true, &o);
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
                r = call_within(&o, "status",
                                o.timeout_ms && left < CALL_TIMEOUT_MS ? (int)left
                                                                       : CALL_TIMEOUT_MS,
                                &resp);
                if (r == -ETIMEDOUT && o.timeout_ms && mono_ms() - start >= (int64_t)o.timeout_ms)
                        continue;
                if (r < 0 && (first || now - last_ok > WAIT_DAEMON_GAP_MS)) {
                        explain_call_error("wait", &o, r);
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

/* Reads one state file without touching it (a corrupt one is reported, not moved). */
static json_t *state_file_json(const char *dir, const char *batch)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *status = NULL;
        struct state *s = NULL;
        char why[256];
        size_t len;
        json_t *o = NULL;

        if (asprintf(&path, "%s/%s.json", dir, batch) < 0)
                return NULL;
        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "oombreaker status: %s: %s\n", path, strerror(errno));
                return NULL;
        }
        text = malloc(STATE_FILE_MAX + 1);
        if (!text)
                return NULL;
        len = fread(text, 1, STATE_FILE_MAX + 1, f);
        if (len > STATE_FILE_MAX || state_parse(text, len, batch, &s, why, sizeof(why)) < 0) {
                fprintf(stderr, "oombreaker status: %s: corrupt state file: %s\n", path,
                        len > STATE_FILE_MAX ? "too large" : why);
                return NULL;
        }
        if (report_state_format(s, &status) >= 0)
                o = json_loads(status, 0, NULL);
        if (o)
                json_object_set_new(o, "source", json_string("state file"));
        state_free(s);
        return o;
}

static int add_state_dir(const char *dir, json_t *batches)
{
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d) {
                fprintf(stderr, "oombreaker status: cannot read %s: %s\n", dir, strerror(errno));
                return -errno;
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                char name[POLICY_NAME_MAX + 1];
                json_t *o;

                if (n <= 5 || n - 5 > POLICY_NAME_MAX || strcmp(de->d_name + n - 5, ".json"))
                        continue;
                memcpy(name, de->d_name, n - 5);
                name[n - 5] = '\0';
                if (state_name_valid(name) && (o = state_file_json(dir, name)))
                        json_array_append_new(batches, o);
        }
        closedir(d);
        return 0;
}

static int ctl_status_from_state_dir(const char *state_dir, const char *batch, json_t **ret_batches)
{
        json_t *batches = json_array(), *o;

        if (!batches)
                return -ENOMEM;
        if (batch) {
                o = state_name_valid(batch) ? state_file_json(state_dir, batch) : NULL;
                if (!o) {
                        json_decref(batches);
                        return -ENOENT;
                }
                json_array_append_new(batches, o);
        } else if (add_state_dir(state_dir, batches) < 0) {
                json_decref(batches);
                return -EIO;
        }
        *ret_batches = batches;
        return 0;
}
