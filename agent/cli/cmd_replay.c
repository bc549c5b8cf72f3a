/* SPDX-License-Identifier: MIT */
/*
 * `oombreaker replay FILE --trace TRACE.jsonl [--json]`: runs a recorded trace through the
 * same rules and breaker code as `run`, and exits as `wait` would.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "breaker.h"
#include "cli.h"
#include "commands.h"
#include "json-number.h"
#include "policy-load.h"
#include "trace.h"
#include "trip-json.h"
#include "util.h"

static const char usage[] =
        "Usage: oombreaker replay FILE --trace TRACE.jsonl [--batch NAME] [--json]\n\n"
        "Runs a recorded trace (JSON Lines as `run --trace` writes them, one object per\n"
        "instance per tick, in time order) through policy FILE's rules and breaker, prints\n"
        "each transition and the trip reason, and exits as `wait` would. Every line must name\n"
        "FILE's batch (or NAME, with --batch) and one of FILE's targets. Under dry_run a trip is "
        "reported as \"would\n"
        "trip\" and does not change the verdict.\n\n"
        "Options:\n"
        "  --trace FILE  the trace to replay (required)\n"
        "  --batch NAME  the trace was recorded for batch NAME: replay it under FILE's policy\n"
        "  --json        print one JSON object: batch, verdict, transitions, trip\n\n"
        "Exit codes: 0 no trip, 1 usage, policy or trace error (FILE:LINE: reason),\n"
        "2 tripped, 3 inconclusive.\n";

struct replay {
        const char *trace_path;
        const char *batch; /* the trace's batch: --batch, else the policy's */
        bool json;
        struct policy *p;
        struct breaker *b;
        struct sample *samples;        /* this tick's, one per target */
        const struct sample **present; /* NULL where a target has no line this tick */
        bool in_tick;
        int64_t tick_ms;
        unsigned n_lines;
        json_t *transitions; /* --json only */
};

struct replay_opts {
        const char *policy_path;
        const char *trace_path;
        const char *batch;
        bool json;
};

enum {
        OPT_TRACE = 0x100,
        OPT_JSON,
        OPT_BATCH,
};

static int set_option(int id, const char *arg, void *userdata)
{
        struct replay_opts *o = userdata;

        if (id == OPT_TRACE)
                o->trace_path = arg;
        else if (id == OPT_JSON)
                o->json = true;
        else if (id == OPT_BATCH)
                o->batch = arg;
        return 0;
}

/* Returns 1 to go on, 0 when --help or --version was answered, or -EINVAL. */
static int parse_args(int argc, char **argv, struct replay_opts *ret)
{
        static const struct option options[] = {
                { "trace", required_argument, NULL, OPT_TRACE },
                { "json", no_argument, NULL, OPT_JSON },
                { "batch", required_argument, NULL, OPT_BATCH },
                {},
        };
        struct replay_opts o = { 0 };
        int first = cli_parse(argc, argv, usage, options, set_option, &o);

        if (first <= 0)
                return first;
        if (argc - first > 1) {
                fprintf(stderr, "oombreaker replay: unexpected argument '%s' (see --help)\n",
                        argv[first + 1]);
                return -EINVAL;
        }
        if (first == argc || !o.trace_path || !*o.trace_path) {
                fprintf(stderr, "oombreaker replay: needs a policy FILE and --trace TRACE (see "
                                "--help)\n");
                return -EINVAL;
        }
        o.policy_path = argv[first];
        *ret = o;
        return 1;
}

static json_t *trip_to_json(const struct breaker_trip *t)
{
        _cleanup_free_ char *text = NULL;

        if (trip_json_format(t, TRIP_JSON_REPLAY, &text) < 0)
                return NULL;
        return json_loads(text, 0, NULL);
}

static void print_value(double v, enum cond_metric m)
{
        char buf[48];

        metric_format_value(m, v, buf, sizeof(buf));
        fputs(buf, stdout);
}

static void print_trip(const char *what, const struct breaker_trip *t)
{
        printf("%s at t_ms=%" PRId64 ": instance %s, rule %s, streak %u of %u\n", what, t->t_ms,
               t->instance, t->rule, t->consecutive, t->limit);
        for (size_t i = 0; i < t->n_conditions; i++) {
                const struct breaker_condition *c = &t->conditions[i];

                printf("  %s ", cond_metric_to_string(c->metric));
                if (c->has_value)
                        print_value(c->value, c->metric);
                else
                        printf("(no data)");
                printf(" %s ", metric_cmp_op(c->metric));
                print_value(c->threshold, c->metric);
                printf("\n");
        }
}

static int report_transition(struct replay *r, const struct breaker_transition *tr)
{
        const char *from = breaker_phase_to_string(tr->from), *to = breaker_phase_to_string(tr->to);
        json_t *o;

        if (!r->json) {
                printf("t_ms=%" PRId64 " %s -> %s%s", tr->t_ms, from, to,
                       tr->dry_run ? " (dry run: would trip)" : "");
                if (tr->rule[0])
                        printf(" (instance %s, rule %s)", tr->instance, tr->rule);
                printf("\n");
                return 0;
        }
        o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "t_ms", (json_int_t)tr->t_ms, "from", from, "to",
                      to, "instance", tr->instance, "rule", tr->rule);
        if (o && tr->dry_run && json_object_set_new(o, "dry_run", json_true()) < 0)
                o = (json_decref(o), NULL);
        if (!o || json_array_append_new(r->transitions, o) < 0)
                return -ENOMEM;
        return 0;
}

/* Runs the collected tick through the breaker. */
static int flush_tick(struct replay *r)
{
        const struct breaker_transition *tv;
        size_t n;
        int k;

        if (!r->in_tick)
                return 0;
        r->in_tick = false;
        k = breaker_step(r->b, r->tick_ms, r->present, r->p->n_targets);
        if (k < 0)
                return k;
        tv = breaker_transitions(r->b, &n);
        for (size_t i = 0; i < n; i++) {
                int q = report_transition(r, &tv[i]);

                if (q < 0)
                        return q;
        }
        memset(r->present, 0, r->p->n_targets * sizeof(*r->present));
        return 0;
}

static int trace_error(const struct replay *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int trace_error(const struct replay *r, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s:%u: ", r->trace_path, r->n_lines);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

static long target_index(const struct policy *p, const char *name)
{
        for (size_t i = 0; i < p->n_targets; i++)
                if (strcmp(p->targets[i].name, name) == 0)
                        return (long)i;
        return -1;
}

/* Parses one line and files it under its tick; a later t_ms first runs the previous tick. */
static int replay_line(struct replay *r, const char *line, size_t len)
{
        char batch[POLICY_NAME_MAX + 1], instance[POLICY_NAME_MAX + 1], err[256];
        struct sample s;
        long i;
        int q;

        if (trace_parse(line, len, batch, instance, &s, err, sizeof(err)) < 0)
                return trace_error(r, "%s", err);
        if (strcmp(batch, r->batch) != 0)
                return trace_error(r, "batch '%s' is not %s '%s'", batch,
                                   r->batch == r->p->name ? "this policy's batch" : "--batch",
                                   r->batch);
        i = target_index(r->p, instance);
        if (i < 0)
                return trace_error(r, "instance '%s' is not a [target] of %s", instance,
                                   r->p->path);
        if (r->in_tick && s.t_ms < r->tick_ms)
                return trace_error(r,
                                   "t_ms %" PRId64 " goes back (the previous tick is %" PRId64 ")",
                                   s.t_ms, r->tick_ms);
        if (r->in_tick && s.t_ms > r->tick_ms && (q = flush_tick(r)) < 0)
                return q;
        if (r->present[i])
                return trace_error(r, "second line for instance '%s' at t_ms %" PRId64, instance,
                                   s.t_ms);
        r->in_tick = true;
        r->tick_ms = s.t_ms;
        r->samples[i] = s;
        r->present[i] = &r->samples[i];
        return 0;
}

static bool blank(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return false;
        return true;
}

static int replay_file(struct replay *r)
{
        _cleanup_fclose_ FILE *f = fopen(r->trace_path, "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0, n_data = 0;
        ssize_t len;
        int q;

        if (!f) {
                fprintf(stderr, "%s: cannot open: %s\n", r->trace_path, strerror(errno));
                return -errno;
        }
        while ((len = getline(&line, &size, f)) >= 0) {
                r->n_lines++;
                if (len > TRACE_LINE_MAX)
                        return trace_error(r, "line longer than %d bytes", TRACE_LINE_MAX);
                if (blank(line, (size_t)len))
                        continue;
                q = replay_line(r, line, (size_t)len);
                if (q < 0)
                        return q;
                n_data++;
        }
        if (ferror(f)) {
                fprintf(stderr, "%s: read error\n", r->trace_path);
                return -EIO;
        }
        if (n_data == 0) {
                fprintf(stderr, "%s: no trace lines\n", r->trace_path);
                return -EINVAL;
        }
        return flush_tick(r);
}

static int exit_code_for(enum breaker_phase p)
{
        switch (p) {
        case BREAKER_TRIPPED:
        case BREAKER_ROLLED_BACK:
        case BREAKER_FAILED:
                return EXIT_TRIPPED;
        case BREAKER_INCONCLUSIVE:
                return EXIT_INCONCLUSIVE;
        default:
                return EXIT_OK;
        }
}

static int print_json(struct replay *r)
{
        const struct breaker_trip *t = breaker_trip(r->b), *w = breaker_would_trip(r->b);
        json_t *o;
        int q = -ENOMEM;

        o = json_pack("{s:i, s:s, s:s, s:O, s:o}", "schema", JSON_SCHEMA, "batch", r->p->name,
                      "verdict", breaker_phase_to_string(breaker_phase(r->b)), "transitions",
                      r->transitions, "trip", t ? trip_to_json(t) : json_null());
        if (o && w && json_object_set_new(o, "would_trip", trip_to_json(w)) < 0)
                goto out;
        if (o && json_dumpf(o, stdout,
                            JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(12)) == 0) {
                putchar('\n');
                q = 0;
        }
out:
        json_decref(o);
        return q;
}

static void print_human(const struct replay *r)
{
        const struct breaker_trip *t = breaker_trip(r->b), *w = breaker_would_trip(r->b);

        if (t)
                print_trip("tripped", t);
        if (w)
                print_trip("would trip (dry run)", w);
        printf("verdict: %s\n", breaker_phase_to_string(breaker_phase(r->b)));
}

static int load_policy(const char *path, struct policy **ret)
{
        struct policy_diags diags = { 0 };
        int q;

        /* A token_file that only exists where the agent runs does not matter to a replay. */
        q = policy_load(path, POLICY_LOAD_CHECK, ret, &diags);
        cli_print_policy_diags(&diags, path);
        if (q < 0 && diags.n == 0)
                fprintf(stderr, "%s: cannot load: %s\n", path, strerror(-q));
        policy_diags_clear(&diags);
        return q;
}

static int replay_setup(struct replay *r)
{
        int q = breaker_new(r->p, 0, &r->b);

        if (q < 0)
                return q;
        r->samples = calloc(r->p->n_targets, sizeof(*r->samples));
        r->present = calloc(r->p->n_targets, sizeof(*r->present));
        r->transitions = json_array();
        if (!r->samples || !r->present || !r->transitions)
                return -ENOMEM;
        return 0;
}

static void replay_done(struct replay *r)
{
        json_decref(r->transitions);
        free(r->present);
        free(r->samples);
        breaker_free(r->b);
        policy_free(r->p);
}

int cmd_replay(int argc, char **argv)
{
        struct replay_opts o;
        struct replay r = { 0 };
        int q, code = EXIT_CONFIG;

        q = parse_args(argc, argv, &o);
        if (q <= 0)
                return q == 0 ? EXIT_OK : EXIT_CONFIG;
        r.trace_path = o.trace_path;
        r.json = o.json;
        if (load_policy(o.policy_path, &r.p) < 0)
                goto out;
        r.batch = o.batch ? o.batch : r.p->name;
        q = replay_setup(&r);
        if (q < 0) {
                fprintf(stderr, "oombreaker replay: %s\n", strerror(-q));
                goto out;
        }
        if (replay_file(&r) < 0)
                goto out;
        if (r.json ? print_json(&r) < 0 : (print_human(&r), false)) {
                fprintf(stderr, "oombreaker replay: cannot format the result\n");
                goto out;
        }
        code = exit_code_for(breaker_phase(r.b));
out:
        replay_done(&r);
        return code;
}
