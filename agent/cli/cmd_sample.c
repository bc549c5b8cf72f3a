/* SPDX-License-Identifier: MIT */
/*
 * `oombreaker sample FILE [--json] [--cgroup-root DIR]`: one sample of every target of a
 * policy, now. Humans get a table; --json prints trace lines (docs/trace.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "promql.h"
#include "cli.h"
#include "commands.h"
#include "policy-load.h"
#include "scrape.h"
#include "trace.h"
#include "units.h"
#include "util.h"

static const char usage[] =
        "Usage: oombreaker sample FILE [--json] [--cgroup-root DIR]\n\n"
        "Samples every target of the policy FILE once, now, and prints its memory figures:\n"
        "usage, working set (usage - inactive file cache), limit (the cgroup's, or the\n"
        "policy's memory_limit when the cgroup has none), anon, OOM kills, v1 failcnt and\n"
        "PSI avg10. A glob target sums its matches. A target whose cgroup does not exist is\n"
        "shown as no data, with the reason. Targets with a metrics_url are scraped too, all\n"
        "at once and each within its metrics_timeout, for the runtime's GC count and heap\n"
        "(gc_preset or the *_metric selectors); a failed scrape is no data, with the reason.\n\n"
        "  --json             one trace line (JSON) per target instead of the table\n"
        "  --cgroup-root DIR  the memory hierarchy's root, instead of discovering it with\n"
        "                     libcgroup, for targets without a cgroup_root of their own\n"
        "                     (as `run --cgroup-root` does)\n\n"
        "Exit codes: 0 sampled (also when some targets have no data), 1 usage error, invalid\n"
        "policy, or no cgroup memory hierarchy.\n";

struct sample_opts {
        const char *file;
        const char *cgroup_root;
        bool json;
};

enum {
        OPT_JSON = 0x100,
        OPT_CGROUP_ROOT,
};

static int set_option(int id, const char *arg, void *userdata)
{
        struct sample_opts *o = userdata;

        if (id == OPT_JSON)
                o->json = true;
        else if (id == OPT_CGROUP_ROOT)
                o->cgroup_root = arg;
        return 0;
}

/* Returns 1 to go on, 0 when --help or --version was answered, or -EINVAL. */
static int parse_args(int argc, char **argv, struct sample_opts *ret)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
                {},
        };
        struct sample_opts o = { 0 };
        int first = cli_parse(argc, argv, usage, options, set_option, &o);

        if (first <= 0)
                return first;
        if (argc - first > 1) {
                fprintf(stderr, "oombreaker sample: unexpected argument '%s' (see --help)\n",
                        argv[first + 1]);
                return -EINVAL;
        }
        if (first == argc) {
                fprintf(stderr, "oombreaker sample: a policy FILE is required (see --help)\n");
                return -EINVAL;
        }
        o.file = argv[first];
        *ret = o;
        return 1;
}

/* One target being sampled; own is set when the target has a hierarchy of its own. */
struct entry {
        const struct policy_target *target;
        struct cgroup_hierarchy *own;
        struct cgroup_hierarchy *h;
        struct cgroup_target *t;
        char path[CGROUP_PATH_MAX];
        struct sample s;
};

struct run {
        struct policy *p;
        struct entry *e;
        struct cgroup_hierarchy *discovered;
};

static void run_done(struct run *run)
{
        for (size_t i = 0; run->p && run->e && i < run->p->n_targets; i++) {
                cgroup_target_free(run->e[i].t);
                cgroup_hierarchy_free(run->e[i].own);
        }
        free(run->e);
        cgroup_hierarchy_free(run->discovered);
        policy_free(run->p);
}

/*
 * The hierarchy for a target, as `run` picks it: its own cgroup_root, else --cgroup-root,
 * else discovery (once).
 */
static int resolve_hierarchy(struct run *run, struct entry *e, const char *cli_root, char *err)
{
        const char *root = e->target->cgroup_root ? e->target->cgroup_root : cli_root;
        int r;

        if (root) {
                r = cgroup_hierarchy_open(root, err, &e->own);
                e->h = e->own;
                return r;
        }
        if (!run->discovered && (r = cgroup_hierarchy_discover(err, &run->discovered)) < 0)
                return r;
        e->h = run->discovered;
        return 0;
}

static int prepare(struct run *run, const struct sample_opts *o)
{
        char err[CGROUP_ERROR_MAX];
        int r;

        run->e = calloc(run->p->n_targets, sizeof(*run->e));
        if (!run->e)
                return -ENOMEM;
        for (size_t i = 0; i < run->p->n_targets; i++) {
                struct entry *e = &run->e[i];

                e->target = &run->p->targets[i];
                if (e->target->source == TARGET_SOURCE_PROMQL)
                        continue; /* sampled by its queries: no cgroup */
                if ((r = resolve_hierarchy(run, e, o->cgroup_root, err)) < 0) {
                        fprintf(stderr, "oombreaker sample: target %s: %s\n", e->target->name, err);
                        return r;
                }
                r = cgroup_target_path(e->target->cgroup, e->target->unit, e->path);
                if (r >= 0)
                        r = cgroup_target_new(e->h, e->path, &e->t);
                if (r < 0) {
                        fprintf(stderr, "oombreaker sample: target %s: cgroup %s: %s\n",
                                e->target->name, e->path, strerror(-r));
                        return r;
                }
        }
        return 0;
}

/*
 * The runtime half of every sample (GC count, heap) comes from the targets' metrics_url,
 * all scraped at once; a failed scrape is no-data with its reason, never a zero.
 */
static int sample_runtime(struct run *run)
{
        _cleanup_free_ struct sample **samples = calloc(run->p->n_targets + 1, sizeof(*samples));

        if (!samples)
                return -ENOMEM;
        for (size_t i = 0; i < run->p->n_targets; i++)
                samples[i] = &run->e[i].s;
        return scrape_once_all(run->p, samples);
}

static void sample_one(struct entry *e)
{
        char reason[CGROUP_ERROR_MAX];

        e->s = (struct sample){ .t_ms = 0 };
        if (e->target->source == TARGET_SOURCE_PROMQL)
                (void)promql_source_once(e->target, &e->s.memory, reason, sizeof(reason));
        else
                cgroup_target_sample(e->t, reason, &e->s.memory);
        snprintf(e->s.memory_error, sizeof(e->s.memory_error), "%.*s",
                 (int)sizeof(e->s.memory_error) - 1, reason);
}

/* A table cell: "1.2 GiB", "512 MiB", "100 B", "-" without data. */
static const char *fmt_size(char *buf, size_t size, bool has, uint64_t bytes)
{
        if (!has)
                return "-";
        units_format_size_approx(bytes, buf, size);
        return buf;
}

/* The limit the rules will use: the cgroup's, else the policy's memory_limit. */
static bool effective_limit(const struct entry *e, uint64_t *ret_bytes, bool *ret_policy)
{
        const struct mem_sample *m = &e->s.memory;

        if (m->has_max && !m->max_unlimited) {
                *ret_bytes = m->max_bytes;
                *ret_policy = false;
                return true;
        }
        if (m->has_max && e->target->memory_limit_bytes > 0) {
                *ret_bytes = e->target->memory_limit_bytes;
                *ret_policy = true;
                return true;
        }
        return false;
}

static void print_limit_and_ratio(const struct entry *e, uint64_t ws, bool has_ws)
{
        char buf[64], cell[80];
        uint64_t limit;
        bool policy;

        if (effective_limit(e, &limit, &policy)) {
                snprintf(cell, sizeof(cell), "%s%s", fmt_size(buf, sizeof(buf), true, limit),
                         policy ? " (policy)" : "");
                printf(" %-16s", cell);
                if (has_ws && limit > 0)
                        printf(" %6.1f%%", 100.0 * (double)ws / (double)limit);
                else
                        printf(" %7s", "-");
                return;
        }
        printf(" %-16s %7s", e->s.memory.has_max ? "max" : "-", "-");
}

static void print_u64_cell(bool has, uint64_t v, int width)
{
        if (has)
                printf(" %*" PRIu64, width, v);
        else
                printf(" %*s", width, "-");
}

static void print_pct_cell(bool has, double pct)
{
        if (has)
                printf(" %8.2f", pct);
        else
                printf(" %8s", "-");
}

/* Whether the target gave no memory figure at all (its cgroup is gone, its query failed). */
static bool entry_no_data(const struct entry *e)
{
        return e->t ? cgroup_target_gone(e->t) : !e->s.memory.has_current;
}

static void print_row(const struct entry *e)
{
        const struct mem_sample *m = &e->s.memory;
        char a[32], b[32], c[32], d[32];
        uint64_t ws = 0;
        bool has_ws = sample_working_set(m, &ws);
        size_t n = e->t ? cgroup_target_matches(e->t) : 1;

        printf("%-16s %10s %11s", e->target->name,
               fmt_size(a, sizeof(a), m->has_current, m->current_bytes),
               fmt_size(b, sizeof(b), has_ws, ws));
        print_limit_and_ratio(e, ws, has_ws);
        printf(" %10s %10s", fmt_size(c, sizeof(c), m->has_anon, m->anon_bytes),
               fmt_size(d, sizeof(d), m->has_inactive_file, m->inactive_file_bytes));
        print_u64_cell(m->has_oom_kill, m->oom_kill, 9);
        print_u64_cell(m->has_failcnt, m->failcnt, 7);
        print_pct_cell(m->has_psi_some, m->psi_some_avg10_pct);
        print_pct_cell(m->has_psi_full, m->psi_full_avg10_pct);
        if (!e->t)
                printf("  promql");
        else
                printf("  v%d:%s", (int)cgroup_hierarchy_version(e->h), e->path);
        if (entry_no_data(e))
                printf(" (no data)");
        else if (e->t && (n != 1 || strpbrk(e->path, "*?[")))
                printf(" (%zu %s)", n, n == 1 ? "match" : "matches");
        printf("\n");
}

/* "canary-1: runtime: gc_count 4812, heap used 1.5GiB, heap max -" plus why figures miss. */
static void print_runtime(const struct entry *e)
{
        const struct runtime_sample *rt = &e->s.runtime;
        char a[32], b[32];

        printf("%s: runtime: gc_count ", e->target->name);
        if (rt->has_gc_count)
                printf("%.0f", rt->gc_count);
        else
                printf("-");
        /* Scraped figures are finite and >= 0; the bound keeps the conversion defined. */
        printf(", heap used %s, heap max %s",
               fmt_size(a, sizeof(a), rt->has_heap_used && rt->heap_used_bytes < 1e19,
                        (uint64_t)rt->heap_used_bytes),
               fmt_size(b, sizeof(b), rt->has_heap_max && rt->heap_max_bytes < 1e19,
                        (uint64_t)rt->heap_max_bytes));
        if (e->s.runtime_error[0])
                printf(" (%s)", e->s.runtime_error);
        printf("\n");
}

static void print_table(const struct run *run)
{
        printf("batch %s: %zu %s\n", run->p->name, run->p->n_targets,
               run->p->n_targets == 1 ? "target" : "targets");
        printf("%-16s %10s %11s %-16s %7s %10s %10s %9s %7s %8s %8s  %s\n", "TARGET", "USAGE",
               "WORKING SET", "LIMIT", "RATIO", "ANON", "INACT FILE", "OOM KILLS", "FAILCNT",
               "PSI SOME", "PSI FULL", "CGROUP");
        for (size_t i = 0; i < run->p->n_targets; i++)
                print_row(&run->e[i]);
        for (size_t i = 0; i < run->p->n_targets; i++) {
                const struct entry *e = &run->e[i];

                if (e->s.memory_error[0])
                        printf("%s: %s: %s\n", e->target->name,
                               entry_no_data(e) ? "no data" : "partly no data", e->s.memory_error);
                if (e->target->metrics_url)
                        print_runtime(e);
        }
}

static int print_json(const struct run *run)
{
        for (size_t i = 0; i < run->p->n_targets; i++) {
                const struct entry *e = &run->e[i];
                int r = trace_write(stdout, run->p->name, e->target->name, &e->s, NULL);

                if (r < 0) {
                        fprintf(stderr, "oombreaker sample: writing target %s: %s\n",
                                e->target->name, strerror(-r));
                        return r;
                }
                /* Traces carry no reasons: say on stderr why a target has no data. */
                if (e->s.memory_error[0])
                        fprintf(stderr, "oombreaker sample: target %s: %s: %s\n", e->target->name,
                                entry_no_data(e) ? "no data" : "partly no data", e->s.memory_error);
                if (e->s.runtime_error[0])
                        fprintf(stderr, "oombreaker sample: target %s: runtime: %s\n",
                                e->target->name, e->s.runtime_error);
        }
        return 0;
}

static int load_policy(const char *file, struct policy **ret)
{
        struct policy_diags diags = { 0 };
        int r = policy_load(file, POLICY_LOAD_CHECK, ret, &diags);

        cli_print_policy_diags(&diags, file);
        if (r < 0 && diags.n == 0)
                fprintf(stderr, "oombreaker sample: %s: %s\n", file, strerror(-r));
        policy_diags_clear(&diags);
        return r;
}

int cmd_sample(int argc, char **argv)
{
        struct run run = { 0 };
        struct sample_opts o;
        int r;

        r = parse_args(argc, argv, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        if (load_policy(o.file, &run.p) < 0)
                return EXIT_CONFIG;
        r = prepare(&run, &o);
        if (r >= 0) {
                for (size_t i = 0; i < run.p->n_targets; i++)
                        sample_one(&run.e[i]);
                r = sample_runtime(&run);
        }
        if (r >= 0) {
                if (o.json)
                        r = print_json(&run);
                else
                        print_table(&run);
        }
        if (r >= 0 && fflush(stdout) != 0)
                r = -EIO;
        run_done(&run);
        return r < 0 ? EXIT_CONFIG : EXIT_OK;
}
