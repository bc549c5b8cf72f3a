/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "batch-internal.h"
#include "exposition.h"
#include "metrics.h"
#include "rules.h"
#include "util.h"

struct family;

/* What the writers see: the batches and the family being written. */
struct ctx {
        struct batch *const *b;
        size_t n;
        const struct family *fam;
        FILE *f;
};

struct family {
        const char *name; /* NULL: here come the registry's figure gauges */
        const char *type;
        const char *help;
        void (*write)(const struct ctx *x);
        enum cond_metric metric; /* of a figure gauge */
};

static void write_state(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++)
                for (int ph = 0; ph < _BREAKER_PHASE_MAX; ph++)
                        fprintf(x->f, "%s{batch=\"%s\",state=\"%s\"} %d\n", x->fam->name,
                                x->b[i]->p->name, breaker_phase_to_string(ph),
                                ph == (int)batch_phase(x->b[i]));
}

static void write_streaks(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++) {
                const struct batch *b = x->b[i];

                for (size_t k = 0; k < breaker_n_instances(b->br); k++)
                        for (size_t r = 0; r < b->p->n_rules; r++)
                                fprintf(x->f, "%s{batch=\"%s\",instance=\"%s\",rule=\"%s\"} %u\n",
                                        x->fam->name, b->p->name, breaker_instance_name(b->br, k),
                                        b->p->rules[r].name, breaker_streak(b->br, k, r));
        }
}

static void write_trips(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++)
                fprintf(x->f, "%s{batch=\"%s\"} %llu\n", x->fam->name, x->b[i]->p->name,
                        (unsigned long long)x->b[i]->trips_total);
}

static void write_attempts(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++) {
                const struct batch *b = x->b[i];

                for (size_t a = 0; a < b->p->n_actions; a++)
                        for (int ok = 0; ok < 2; ok++)
                                fprintf(x->f, "%s{batch=\"%s\",action=\"%s\",result=\"%s\"} %llu\n",
                                        x->fam->name, b->p->name, b->p->actions[a].name,
                                        ok ? "error" : "ok",
                                        (unsigned long long)b->attempts[a][ok]);
        }
}

/* Each action of each batch's current trip: 1 for its status (a failed cut shows failed). */
static void write_action_status(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++) {
                const struct state *s = x->b[i]->st;

                for (size_t a = 0; s->has_trip && a < s->n_actions; a++)
                        for (int st = 0; st < _STATE_ACTION_STATUS_MAX; st++)
                                fprintf(x->f, "%s{batch=\"%s\",action=\"%s\",status=\"%s\"} %d\n",
                                        x->fam->name, x->b[i]->p->name, s->actions[a].name,
                                        state_action_status_to_string(st),
                                        st == (int)s->actions[a].status);
        }
}

/* A registry figure of every target at the last tick; no-data has no sample. Rates go out
 * in Prometheus base units, per second, whatever unit the policy judges them in. */
static void write_figure(const struct ctx *x)
{
        enum metric_unit u = metric_get(x->fam->metric)->unit;
        double per_second =
                u == METRIC_UNIT_PER_MINUTE || u == METRIC_UNIT_BYTES_PER_MINUTE ? 60.0 : 1.0;

        for (size_t i = 0; i < x->n; i++) {
                const struct batch *b = x->b[i];

                for (size_t t = 0; t < b->n_t; t++) {
                        const struct rules_figures *fig = breaker_target_figures(b->br, t);

                        if (fig && fig->has[x->fam->metric])
                                fprintf(x->f, "%s{batch=\"%s\",instance=\"%s\"} %.17g\n",
                                        x->fam->name, b->p->name, target_name(&b->t[t]),
                                        fig->value[x->fam->metric] / per_second);
                }
        }
}

static void write_sample_errors(const struct ctx *x)
{
        for (size_t i = 0; i < x->n; i++) {
                const struct batch *b = x->b[i];

                for (size_t t = 0; t < b->n_t; t++)
                        for (int src = 0; src < 2; src++)
                                fprintf(x->f,
                                        "%s{batch=\"%s\",instance=\"%s\",source=\"%s\"} %llu\n",
                                        x->fam->name, b->p->name, target_name(&b->t[t]),
                                        src ? "metrics" : "cgroup",
                                        (unsigned long long)b->t[t].errors[src]);
        }
}

/* Each batch's histogram, its series together (a label group may not be split). */
static void write_ticks(const struct ctx *x)
{
        const char *n = x->fam->name;

        for (size_t i = 0; i < x->n; i++) {
                const char *b = x->b[i]->p->name;
                const struct tick_stats *t = &x->b[i]->ticks;

                for (size_t k = 0; k < TICK_STATS_BUCKETS; k++)
                        fprintf(x->f, "%s_bucket{batch=\"%s\",le=\"%g\"} %llu\n", n, b,
                                tick_stats_bounds_s[k], (unsigned long long)t->buckets[k]);
                fprintf(x->f,
                        "%s_bucket{batch=\"%s\",le=\"+Inf\"} %llu\n%s_sum{batch=\"%s\"} %.9f\n"
                        "%s_count{batch=\"%s\"} %llu\n",
                        n, b, (unsigned long long)t->count, n, b, t->sum_s, n, b,
                        (unsigned long long)t->count);
        }
}

static void write_build_info(const struct ctx *x)
{
        fprintf(x->f, "%s{version=\"%s\",commit=\"%s\"} 1\n", x->fam->name, OOMBREAKER_VERSION,
                OOMBREAKER_COMMIT);
}

static const struct family families[] = {
        { "oombreaker_build_info", "gauge", "The agent's version and the commit it was built from.",
          write_build_info },
        { "oombreaker_batch_state", "gauge", "Current phase of each batch (1 for the current one).",
          write_state },
        { "oombreaker_breach_streak", "gauge", "Consecutive breaches of each rule per instance.",
          write_streaks },
        { "oombreaker_trips_total", "counter", "Trips since the agent started.", write_trips },
        { "oombreaker_action_attempts_total", "counter", "Action attempts by outcome.",
          write_attempts },
        { "oombreaker_action_status", "gauge",
          "Status of each action of the current trip (1 for the current one).",
          write_action_status },
        { NULL }, /* the registry's figure gauges, in registry order */
        { "oombreaker_sample_errors_total", "counter", "Ticks on which an input was missing.",
          write_sample_errors },
        { "oombreaker_tick_duration_seconds", "histogram", "Time spent sampling one batch's tick.",
          write_ticks },
};

static void write_family(struct ctx *x, const struct family *fam)
{
        x->fam = fam;
        fprintf(x->f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
        fam->write(x);
}

char *exposition_text(struct batch *const *batches, size_t n)
{
        struct ctx x = { .b = batches, .n = n };
        char *buf = NULL;
        size_t len = 0;

        x.f = open_memstream(&buf, &len);
        if (!x.f)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                if (families[i].name) {
                        write_family(&x, &families[i]);
                        continue;
                }
                for (int m = 0; m < _COND_MAX; m++) {
                        const struct metric_def *d = metric_get(m);
                        struct family fig = { d->family, "gauge", d->help, write_figure, m };

                        if (d->family)
                                write_family(&x, &fig);
                }
        }
        if (fclose(x.f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
