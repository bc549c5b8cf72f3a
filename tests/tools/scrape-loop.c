/* SPDX-License-Identifier: MIT */
/*
 * A scrape loop shaped like the agent's: one timerfd (CLOCK_MONOTONIC, absolute first
 * deadline, fixed period, so no drift) and http_poll() as the only wait. Each tick starts
 * every target's scrape; a scrape still running is cancelled and reported.
 *
 *   scrape-loop [--interval-ms 200] [--ticks 50] [--timeout-ms 1000] NAME=URL...
 *
 * --timeout-ms applies to the targets that follow it (metrics_timeout; default 1000).
 * Prints one "result" line per finished scrape and one "tick" line per tick, then the
 * period figures. Exits 0 when every period stayed within +-10 % of the interval (and no
 * expiration was missed), 1 otherwise, 2 on usage or setup errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "scrape.h"
#include "util.h"

#define TARGETS_MAX 16

struct target {
        struct policy_target pt;
        struct scrape *sc;
        unsigned tick; /* of the scrape now running */
        unsigned results, with_data;
};

static int64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_result(struct scrape *sc, const struct runtime_sample *rs, const char *reason,
                      void *userdata)
{
        struct target *t = userdata;
        bool any = rs->has_gc_count || rs->has_heap_used || rs->has_heap_max;

        (void)sc;
        t->results++;
        t->with_data += any;
        printf("result target=%s tick=%u data=%s", t->pt.name, t->tick, any ? "yes" : "no");
        if (rs->has_gc_count)
                printf(" gc_count=%.0f", rs->gc_count);
        printf(" reason=\"%s\"\n", reason);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Prints the period figures and judges them against +-10 % of interval_ms. */
static int report(double *periods, size_t n, unsigned interval_ms, uint64_t missed)
{
        double lo = interval_ms * 0.9, hi = interval_ms * 1.1, median;
        size_t outside = 0;

        if (n == 0)
                return 1;
        for (size_t i = 0; i < n; i++)
                outside += periods[i] < lo || periods[i] > hi;
        qsort(periods, n, sizeof(*periods), cmp_double);
        median = n % 2 ? periods[n / 2] : (periods[n / 2 - 1] + periods[n / 2]) / 2;
        printf("periods n=%zu median_ms=%.3f min_ms=%.3f max_ms=%.3f bound_ms=%.0f..%.0f "
               "outside=%zu missed_expirations=%" PRIu64 "\n",
               n, median, periods[0], periods[n - 1], lo, hi, outside, missed);
        return median >= lo && median <= hi && outside == 0 && missed == 0 ? 0 : 1;
}

static int parse_args(int argc, char **argv, unsigned *interval_ms, unsigned *ticks,
                      unsigned *timeout_ms, struct target *targets, size_t *n)
{
        for (int i = 1; i < argc; i++) {
                char *eq;

                if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
                        *interval_ms = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--ticks") == 0 && i + 1 < argc)
                        *ticks = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
                        *timeout_ms = (unsigned)atoi(argv[++i]);
                else if ((eq = strchr(argv[i], '=')) && *n < TARGETS_MAX) {
                        struct target *t = &targets[(*n)++];

                        snprintf(t->pt.name, sizeof(t->pt.name), "%.*s", (int)(eq - argv[i]),
                                 argv[i]);
                        t->pt.metrics_url = eq + 1;
                        t->pt.metrics_timeout_ms = *timeout_ms; /* the latest --timeout-ms */
                        t->pt.gc_preset = GC_PRESET_GO;
                } else
                        return -EINVAL;
        }
        return *interval_ms > 0 && *ticks > 1 && *n > 0 ? 0 : -EINVAL;
}

static int start_timer(unsigned interval_ms)
{
        struct itimerspec its = { .it_interval = { .tv_sec = interval_ms / 1000,
                                                   .tv_nsec =
                                                           (long)(interval_ms % 1000) * 1000000 } };
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

        if (fd < 0)
                return -errno;
        clock_gettime(CLOCK_MONOTONIC, &its.it_value);
        its.it_value.tv_sec += 1; /* first tick one second from now, then every interval */
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
                close(fd);
                return -errno;
        }
        return fd;
}

/* One expiration: starts every target's scrape (reporting any still running). */
static void tick(struct target *targets, size_t n, unsigned k)
{
        for (size_t i = 0; i < n; i++) {
                int r = scrape_start(targets[i].sc);

                targets[i].tick = k;
                if (r < 0)
                        printf("result target=%s tick=%u data=no reason=\"cannot start: %s\"\n",
                               targets[i].pt.name, k, strerror(-r));
        }
}

static int run(struct http *h, int tfd, struct target *targets, size_t n, unsigned ticks,
               unsigned interval_ms)
{
        _cleanup_free_ double *periods = calloc(ticks, sizeof(double));
        uint64_t missed = 0;
        int64_t last_us = 0;
        unsigned k = 0;

        if (!periods)
                return 2;
        while (k < ticks) {
                struct http_waitfd w = { .fd = tfd, .events = POLLIN };
                uint64_t expirations = 0;

                if (http_poll(h, &w, 1, 1000) < 0)
                        return 2;
                if (!(w.revents & POLLIN) ||
                    read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations))
                        continue;
                int64_t t_us = now_us();

                missed += expirations - 1;
                if (k > 0)
                        periods[k - 1] = (double)(t_us - last_us) / 1000.0;
                printf("tick %u period_ms=%.3f\n", k, k > 0 ? periods[k - 1] : 0.0);
                last_us = t_us;
                tick(targets, n, ++k);
        }
        fflush(stdout);
        return report(periods, ticks - 1, interval_ms, missed);
}

int main(int argc, char **argv)
{
        struct target targets[TARGETS_MAX] = { 0 };
        unsigned interval_ms = 200, ticks = 50, timeout_ms = 1000;
        size_t n = 0;
        struct http *h = NULL;
        int tfd, r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (parse_args(argc, argv, &interval_ms, &ticks, &timeout_ms, targets, &n) < 0) {
                fprintf(stderr, "usage: scrape-loop [--interval-ms N] [--ticks N] "
                                "[--timeout-ms N] NAME=URL...\n");
                return 2;
        }
        if (http_new(&h) < 0)
                return 2;
        for (size_t i = 0; i < n; i++) {
                if (scrape_new(h, &targets[i].pt, on_result, &targets[i], &targets[i].sc) < 0)
                        return 2;
        }
        tfd = start_timer(interval_ms);
        if (tfd < 0)
                return 2;
        r = run(h, tfd, targets, n, ticks, interval_ms);
        for (size_t i = 0; i < n; i++) {
                printf("summary target=%s results=%u with_data=%u\n", targets[i].pt.name,
                       targets[i].results, targets[i].with_data);
                scrape_free(targets[i].sc);
        }
        http_free(h);
        close(tfd);
        return r;
}
