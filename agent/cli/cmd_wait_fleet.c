/* SPDX-License-Identifier: MIT */
/*
 * `oombreaker wait --prometheus URL --batch NAME`: the fleet gate. Every node's agent
 * exports oombreaker_batch_state{batch,state} on /metrics; a Prometheus server scrapes them
 * all, and this asks it, with three instant queries per poll:
 *   the nodes:   count by (instance) (count_over_time(oombreaker_batch_state{batch}[10m]))
 *   their phase: timestamp(oombreaker_batch_state{batch} == 1)   (the sample's own time)
 *   their up:    up and on (instance) <the nodes>
 * A node is told apart by its instance label. A node that is down (up 0), has no current
 * sample, or whose sample is older than --stale-after is missing: never counted healthy.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "commands.h"
#include "promql.h"
#include "units.h"
#include "util.h"

#define FLEET_POLL_MS       200
#define FLEET_GAP_MS        30000 /* without --timeout: server down or no node this long */
#define FLEET_QUERY_MS      5000
#define FLEET_STALE_DEFAULT 45000 /* 3 x Prometheus' default scrape interval */
#define FLEET_LOOKBACK      "10m" /* a node seen this recently is expected */
#define FLEET_NODES_MAX     1000
#define FLEET_SUMMARY_MAX   2048

enum {
        OPT_PROMETHEUS = 0x200,
        OPT_BATCH,
        OPT_MIN_NODES,
        OPT_TRIP_NODES,
        OPT_STALE_AFTER,
        OPT_BAKE,
        OPT_TIMEOUT,
};

struct fleet_opts {
        const char *url;
        const char *batch;
        unsigned min_nodes, trip_nodes;
        uint64_t stale_after_ms, bake_ms, timeout_ms;
};

struct node {
        const char *instance; /* borrowed from the "nodes" answer */
        const char *state;    /* NULL: no current sample */
        bool down;
        int64_t age_ms;
};

/* What one poll saw. */
struct census {
        struct node nodes[FLEET_NODES_MAX];
        size_t n;
        unsigned tripped, inconclusive, promoted, armed, missing;
};

static int parse_count(const char *opt, const char *arg, unsigned *ret)
{
        uint64_t v;

        if (units_parse_uint(arg, &v) < 0 || v < 1 || v > FLEET_NODES_MAX) {
                fprintf(stderr, "oombreaker wait: --%s: \"%s\" is not a count from 1 to %d\n", opt,
                        arg, FLEET_NODES_MAX);
                return -EINVAL;
        }
        *ret = (unsigned)v;
        return 0;
}

static int parse_ms(const char *opt, const char *arg, uint64_t *ret)
{
        if (units_parse_duration(arg, ret) < 0 || *ret > 30ull * 24 * 3600 * 1000) {
                fprintf(stderr,
                        "oombreaker wait: --%s: \"%s\" is not a duration up to 30 days (use 500ms, "
                        "5s, 2m)\n",
                        opt, arg);
                return -EINVAL;
        }
        return 0;
}

static int set_option(int id, const char *arg, void *userdata)
{
        struct fleet_opts *o = userdata;

        switch (id) {
        case OPT_PROMETHEUS:
                o->url = arg;
                return 0;
        case OPT_BATCH:
                o->batch = arg;
                return 0;
        case OPT_MIN_NODES:
                return parse_count("min-nodes", arg, &o->min_nodes);
        case OPT_TRIP_NODES:
                return parse_count("trip-nodes", arg, &o->trip_nodes);
        case OPT_STALE_AFTER:
                return parse_ms("stale-after", arg, &o->stale_after_ms);
        case OPT_BAKE:
                return parse_ms("bake", arg, &o->bake_ms);
        case OPT_TIMEOUT:
                return parse_ms("timeout", arg, &o->timeout_ms);
        }
        fprintf(stderr, "oombreaker wait: --socket and --state-dir are for a local agent, not "
                        "with --prometheus\n");
        return -EINVAL;
}

static bool batch_name_ok(const char *s)
{
        size_t n = strlen(s);

        return n >= 1 && n <= 64 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int fleet_parse(int argc, char **argv, const char *usage, struct fleet_opts *o)
{
        static const struct option options[] = {
                { "prometheus", required_argument, NULL, OPT_PROMETHEUS },
                { "batch", required_argument, NULL, OPT_BATCH },
                { "min-nodes", required_argument, NULL, OPT_MIN_NODES },
                { "trip-nodes", required_argument, NULL, OPT_TRIP_NODES },
                { "stale-after", required_argument, NULL, OPT_STALE_AFTER },
                { "bake", required_argument, NULL, OPT_BAKE },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "socket", required_argument, NULL, 1 },
                { "state-dir", required_argument, NULL, 1 },
                {},
        };
        int first;

        *o = (struct fleet_opts){ .min_nodes = 1,
                                  .trip_nodes = 1,
                                  .stale_after_ms = FLEET_STALE_DEFAULT };
        first = cli_parse(argc, argv, usage, options, set_option, o);
        if (first <= 0)
                return first;
        if (first < argc) {
                fprintf(stderr, "oombreaker wait: with --prometheus the batch is --batch NAME, "
                                "not an operand\n");
                return -EINVAL;
        }
        if (!o->batch || !batch_name_ok(o->batch)) {
                fprintf(stderr, "oombreaker wait: --prometheus needs --batch NAME (a batch "
                                "name: letters, digits, '.', '_', '-')\n");
                return -EINVAL;
        }
        return 1;
}

/* Runs one query; r < 0 with reason on failure. */
static int query(const struct fleet_opts *o, const char *expr, uint64_t timeout_ms,
                 struct promql_result *ret, char *reason, size_t size)
{
        _cleanup_free_ char *url = NULL;
        int r;

        r = promql_query_url(o->url, expr, &url);
        if (r < 0) {
                snprintf(reason, size, "cannot build the query URL from \"%s\"", o->url);
                return r;
        }
        return promql_query(url, timeout_ms, ret, reason, size);
}

#define Q_NODES                \
        "count by (instance) " \
        "(count_over_time(oombreaker_batch_state{batch=\"%s\"}[" FLEET_LOOKBACK "]))"
#define Q_STATE "timestamp(oombreaker_batch_state{batch=\"%s\"} == 1)"
#define Q_UP    "up and on (instance) " Q_NODES

static struct node *node_of(struct census *c, const char *instance)
{
        for (size_t i = 0; instance && i < c->n; i++)
                if (strcmp(c->nodes[i].instance, instance) == 0)
                        return &c->nodes[i];
        return NULL;
}

/* Counts the nodes by phase; a missing node is in no other count. */
static void tally(const struct fleet_opts *o, struct census *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct node *nd = &c->nodes[i];
                const char *s = nd->state;

                if (nd->down || !s || nd->age_ms > (int64_t)o->stale_after_ms)
                        c->missing++;
                else if (!strcmp(s, "tripped") || !strcmp(s, "rolled_back") || !strcmp(s, "failed"))
                        c->tripped++;
                else if (!strcmp(s, "inconclusive"))
                        c->inconclusive++;
                else if (!strcmp(s, "promoted"))
                        c->promoted++;
                else if (!strcmp(s, "armed"))
                        c->armed++;
        }
}

/*
 * One poll: the three answers into *c (its instances point into res[0], which the caller
 * clears). Returns 0, or a negative errno with reason.
 */
static int census_take(const struct fleet_opts *o, uint64_t timeout_ms, struct promql_result *res,
                       struct census *c, char *reason, size_t size)
{
        char exprs[3][512];
        int r = 0;

        snprintf(exprs[0], sizeof(exprs[0]), Q_NODES, o->batch);
        snprintf(exprs[1], sizeof(exprs[1]), Q_STATE, o->batch);
        snprintf(exprs[2], sizeof(exprs[2]), Q_UP, o->batch);
        for (size_t q = 0; q < 3 && r >= 0; q++)
                r = query(o, exprs[q], timeout_ms, &res[q], reason, size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res[0].n && c->n < FLEET_NODES_MAX; i++) {
                const char *inst = promql_label(&res[0].v[i], "instance");

                if (inst && !node_of(c, inst))
                        c->nodes[c->n++] = (struct node){ .instance = inst };
        }
        for (size_t i = 0; i < res[1].n; i++) {
                const struct promql_series *s = &res[1].v[i];
                struct node *nd = node_of(c, promql_label(s, "instance"));

                if (nd && isfinite(s->value)) {
                        nd->state = promql_label(s, "state");
                        nd->age_ms = s->t_ms - (int64_t)llround(s->value * 1000.0);
                }
        }
        for (size_t i = 0; i < res[2].n; i++) {
                struct node *nd = node_of(c, promql_label(&res[2].v[i], "instance"));

                if (nd && res[2].v[i].value == 0)
                        nd->down = true;
        }
        tally(o, c);
        return 0;
}

/* "armed 2, breaching 1 (10.0.0.7:9101); missing 1: 10.0.0.9:9101 (down: up 0)" */
static void summarize(const struct fleet_opts *o, const struct census *c, char *buf, size_t size)
{
        size_t len = (size_t)snprintf(buf, size, "%zu node%s (expected %u)", c->n,
                                      c->n == 1 ? "" : "s", o->min_nodes);

        for (size_t i = 0; i < c->n && len < size; i++) {
                const struct node *nd = &c->nodes[i];

                if (nd->down)
                        len += (size_t)snprintf(buf + len, size - len,
                                                ", %s missing (down: up is 0)", nd->instance);
                else if (!nd->state)
                        len += (size_t)snprintf(buf + len, size - len,
                                                ", %s missing (no current sample)", nd->instance);
                else if (nd->age_ms > (int64_t)o->stale_after_ms)
                        len += (size_t)snprintf(buf + len, size - len,
                                                ", %s missing (stale: last sample %lld s old)",
                                                nd->instance, (long long)(nd->age_ms / 1000));
                else
                        len += (size_t)snprintf(buf + len, size - len, ", %s %s", nd->instance,
                                                nd->state);
        }
}

struct fleet_wait {
        char last[FLEET_SUMMARY_MAX];
        int64_t healthy_since, inconclusive_since; /* -1: not now */
        bool said_empty;
};

/* Looks at one census; returns an exit code when the wait is over, else -1. */
static int fleet_step(const struct fleet_opts *o, const struct census *c, struct fleet_wait *w,
                      int64_t now)
{
        char line[FLEET_SUMMARY_MAX];
        bool all_there = c->missing == 0 && c->n >= o->min_nodes;

        summarize(o, c, line, sizeof(line));
        if (strcmp(line, w->last)) {
                printf("%s: %s\n", o->batch, line);
                fflush(stdout);
                snprintf(w->last, sizeof(w->last), "%s", line);
        }
        if (c->tripped >= o->trip_nodes) {
                printf("%s: tripped on %u node%s (--trip-nodes %u)\n", o->batch, c->tripped,
                       c->tripped == 1 ? "" : "s", o->trip_nodes);
                return EXIT_TRIPPED;
        }
        if (all_there && c->promoted == c->n) {
                printf("%s: promoted on every node\n", o->batch);
                return EXIT_OK;
        }
        w->healthy_since = all_there && c->armed + c->promoted == c->n
                                   ? (w->healthy_since < 0 ? now : w->healthy_since)
                                   : -1;
        w->inconclusive_since =
                c->inconclusive ? (w->inconclusive_since < 0 ? now : w->inconclusive_since) : -1;
        if (o->bake_ms && w->healthy_since >= 0 && now - w->healthy_since >= (int64_t)o->bake_ms) {
                printf("%s: healthy on all %zu nodes for %llu ms\n", o->batch, c->n,
                       (unsigned long long)(now - w->healthy_since));
                return EXIT_OK;
        }
        if (o->bake_ms && w->inconclusive_since >= 0 &&
            now - w->inconclusive_since >= (int64_t)o->bake_ms)
                return EXIT_INCONCLUSIVE;
        return -1;
}

/* The server answered, and no node ever reported the batch. */
static void say_empty(const struct fleet_opts *o, struct fleet_wait *w)
{
        if (w->said_empty)
                return;
        fprintf(stderr,
                "oombreaker wait: no node reports batch %s; is Prometheus scraping the agents? "
                "(no oombreaker_batch_state{batch=\"%s\"} in the last " FLEET_LOOKBACK ")\n",
                o->batch, o->batch);
        w->said_empty = true;
}

/* Ends the wait for want of time or of nodes. */
static int give_up(const struct fleet_opts *o, int last_r, const char *reason, bool empty)
{
        if (last_r < 0) {
                fprintf(stderr, "oombreaker wait: Prometheus at %s is unreachable: %s\n", o->url,
                        reason);
                return EXIT_UNREACHABLE;
        }
        if (empty) {
                fprintf(stderr, "oombreaker wait: %s: no node ever reported the batch\n", o->batch);
                return EXIT_UNREACHABLE;
        }
        fprintf(stderr, "oombreaker wait: %s: no verdict within the timeout\n", o->batch);
        return EXIT_TIMEOUT;
}

int cmd_wait_fleet(int argc, char **argv, const char *usage)
{
        struct fleet_wait w = { .healthy_since = -1, .inconclusive_since = -1 };
        int64_t start = mono_ms(), last_ok = start;
        static struct census c; /* large: not on the stack */
        char reason[PROMQL_REASON_MAX] = "";
        struct fleet_opts o;
        bool reached = false, empty = false;
        int r = fleet_parse(argc, argv, usage, &o);

        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        for (;;) {
                struct promql_result res[3] = { 0 };
                int64_t now = mono_ms(), left = (int64_t)o.timeout_ms - (now - start);
                uint64_t qt =
                        o.timeout_ms && left < FLEET_QUERY_MS ? (uint64_t)left : FLEET_QUERY_MS;
                int code = -1;

                if (o.timeout_ms && left <= 0)
                        return give_up(&o, r, reason, empty);
                memset(&c, 0, sizeof(c));
                reason[0] = '\0';
                r = census_take(&o, qt ? qt : 1, res, &c, reason, sizeof(reason));
                if (r == -EREMOTEIO || r == -EBADMSG || r == -EINVAL) {
                        fprintf(stderr, "oombreaker wait: %s: %s%s\n", o.url, reason,
                                strncmp(reason, "Prometheus says", 15)
                                        ? " (is it a Prometheus server's URL?)"
                                        : "");
                        code = EXIT_CONFIG;
                } else if (r < 0 && (!reached || (!o.timeout_ms && now - last_ok > FLEET_GAP_MS))) {
                        code = give_up(&o, r, reason, false);
                } else if (r >= 0 && c.n == 0) {
                        reached = empty = true;
                        say_empty(&o, &w);
                        if (!o.timeout_ms && now - start > FLEET_GAP_MS)
                                code = give_up(&o, 0, "", true);
                } else if (r >= 0) {
                        reached = true;
                        empty = false;
                        last_ok = now;
                        code = fleet_step(&o, &c, &w, now);
                }
                for (size_t q = 0; q < 3; q++)
                        promql_result_clear(&res[q]);
                if (code >= 0)
                        return code;
                nanosleep(&(struct timespec){ .tv_nsec = FLEET_POLL_MS * 1000000L }, NULL);
        }
}
