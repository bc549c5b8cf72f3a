/* SPDX-License-Identifier: MIT */
/*
 * forecast-bench: runs core/forecast over one instance's trace, next to a memory ratio rule,
 * and prints when each would trip and when the trace first shows an OOM kill. For exploring
 * the forecast on recorded traces without a policy (scripts/bench-forecast.sh uses replay).
 *
 *   forecast-bench [--window MS] [--below MS] [--ratio R] [--consecutive N] [--limit BYTES]
 *                  [--ticks] TRACE.jsonl
 *
 * Prints {"forecast_trip_ms":…,"ratio_trip_ms":…,"ratio_cross_ms":…,"oom_seen_ms":…,
 * "forecast_trips":N} (times null for never; N counts trips as if re-armed after each); with
 * --ticks, one line per tick first: t_ms, working set (MiB), time to the limit (ms, or - / w).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"
#include "trace.h"

struct opts {
        int64_t window_ms, below_ms;
        double ratio;
        unsigned consecutive;
        uint64_t limit_bytes;
        bool ticks;
};

struct run {
        struct forecast f;
        unsigned fc_streak, ratio_streak;
        int64_t fc_trip, ratio_trip, oom_seen, ratio_cross;
        unsigned fc_trips; /* trips counted as if re-armed after each: false trips */
        bool has_oom0;
        uint64_t oom0;
};

/* Returns 1 breach, 0 pass, -1 no-data; *ttl_ms is written when there is a prediction. */
static int forecast_step(struct run *r, const struct opts *o, const struct sample *s, uint64_t ws,
                         uint64_t limit, int64_t *ttl_ms)
{
        struct forecast_prediction p;
        int k;

        if (forecast_add(&r->f, s->t_ms, ws, (uint64_t)o->window_ms) < 0)
                return -1;
        k = forecast_predict(&r->f, s->t_ms, limit, &p);
        if (k == -ENODATA)
                return -1;
        if (k < 0) {
                *ttl_ms = INT64_MAX;
                return 0;
        }
        *ttl_ms = p.time_to_limit_ms;
        return *ttl_ms > 0 && *ttl_ms < o->below_ms;
}

/* Returns true when this tick trips (the streak then starts again, as after a re-arm). */
static bool streak(int outcome, unsigned *st, unsigned need, int64_t t, int64_t *trip)
{
        if (outcome == 0)
                *st = 0;
        if (outcome <= 0 || ++*st < need)
                return false;
        *st = 0;
        if (*trip < 0)
                *trip = t;
        return true;
}

static void step(struct run *r, const struct opts *o, const struct sample *s)
{
        const struct mem_sample *m = &s->memory;
        uint64_t ws, limit = o->limit_bytes;
        int64_t ttl = INT64_MIN;
        int fc = -1, ratio = -1;

        if (m->has_max && !m->max_unlimited)
                limit = m->max_bytes;
        if (m->has_oom_kill && !r->has_oom0) {
                r->has_oom0 = true;
                r->oom0 = m->oom_kill;
        } else if (m->has_oom_kill && m->oom_kill > r->oom0 && r->oom_seen < 0) {
                r->oom_seen = s->t_ms;
        }
        if (sample_working_set(m, &ws) && limit > 0) {
                fc = forecast_step(r, o, s, ws, limit, &ttl);
                ratio = (double)ws / (double)limit > o->ratio;
                if (ratio > 0 && r->ratio_cross < 0)
                        r->ratio_cross = s->t_ms;
        }
        r->fc_trips += streak(fc, &r->fc_streak, o->consecutive, s->t_ms, &r->fc_trip);
        streak(ratio, &r->ratio_streak, o->consecutive, s->t_ms, &r->ratio_trip);
        if (!o->ticks)
                return;
        printf("%" PRId64 " %.1f ", s->t_ms, fc < 0 && ratio < 0 ? -1.0 : (double)ws / 1048576.0);
        if (ttl == INT64_MIN)
                printf("w\n");
        else if (ttl == INT64_MAX)
                printf("-\n");
        else
                printf("%" PRId64 "%s\n", ttl, fc > 0 ? " breach" : "");
}

static void print_ms(const char *name, int64_t v, const char *sep)
{
        if (v < 0)
                printf("\"%s\":null%s", name, sep);
        else
                printf("\"%s\":%" PRId64 "%s", name, v, sep);
}

static int bench(FILE *in, const struct opts *o)
{
        struct run r = { .fc_trip = -1, .ratio_trip = -1, .oom_seen = -1, .ratio_cross = -1 };
        char line[TRACE_LINE_MAX], batch[POLICY_NAME_MAX + 1], inst[POLICY_NAME_MAX + 1];
        char err[128];
        unsigned lineno = 0;

        while (fgets(line, sizeof(line), in)) {
                struct sample s;

                lineno++;
                if (trace_parse(line, strlen(line), batch, inst, &s, err, sizeof(err)) < 0) {
                        fprintf(stderr, "line %u: %s\n", lineno, err);
                        return -EINVAL;
                }
                step(&r, o, &s);
        }
        printf("{");
        print_ms("forecast_trip_ms", r.fc_trip, ",");
        print_ms("ratio_trip_ms", r.ratio_trip, ",");
        print_ms("ratio_cross_ms", r.ratio_cross, ",");
        print_ms("oom_seen_ms", r.oom_seen, ",");
        printf("\"forecast_trips\":%u}\n", r.fc_trips);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "window", 1, NULL, 'w' },
                { "below", 1, NULL, 'b' },
                { "ratio", 1, NULL, 'r' },
                { "consecutive", 1, NULL, 'c' },
                { "limit", 1, NULL, 'l' },
                { "ticks", 0, NULL, 't' },
                { 0 },
        };
        struct opts o = { 120000, 30000, 0.85, 3, 0, false };
        FILE *in;
        int c, r;

        while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
                switch (c) {
                case 'w':
                        o.window_ms = strtoll(optarg, NULL, 10);
                        break;
                case 'b':
                        o.below_ms = strtoll(optarg, NULL, 10);
                        break;
                case 'r':
                        o.ratio = strtod(optarg, NULL);
                        break;
                case 'c':
                        o.consecutive = (unsigned)strtoul(optarg, NULL, 10);
                        break;
                case 'l':
                        o.limit_bytes = strtoull(optarg, NULL, 10);
                        break;
                case 't':
                        o.ticks = true;
                        break;
                default:
                        return 1;
                }
        }
        if (optind + 1 != argc || o.consecutive == 0 || o.window_ms <= 0) {
                fprintf(stderr, "usage: forecast-bench [options] TRACE.jsonl\n");
                return 1;
        }
        in = fopen(argv[optind], "re");
        if (!in) {
                fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
                return 1;
        }
        r = bench(in, &o);
        fclose(in);
        return r < 0 ? 1 : 0;
}
