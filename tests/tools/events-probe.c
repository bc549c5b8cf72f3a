/* SPDX-License-Identifier: MIT */
/*
 * Drives the event sources (agent/io/events.h) on real cgroups, for
 * tests/integration/test-events-real.sh. Each mode registers one source, makes the kernel
 * fire it, and waits on poll() with a deadline (no sleeps).
 *
 *   events-probe oom CGROUP_DIR KILLS TIMEOUT_MS
 *       KILLS times: fork a memory hog into the cgroup (it must have a small limit), wait
 *       until both its death (pidfd) and the OOM event have been seen. The event is the v1
 *       OOM eventfd, or on a v2 cgroup a change of memory.events. Prints one "kill"
 *       line each with event - reap in ms (negative: the event came first), then
 *       "summary n= median_ms= p99_ms= max_abs_ms=".
 *   events-probe psi V2_CGROUP_DIR some|full PERCENT INTERVAL_MS TIMEOUT_MS [V1_CGROUP_DIR]
 *       Registers the trigger psi_trigger_derive() makes for the rule, then runs hogs in
 *       V2_CGROUP_DIR (and V1_CGROUP_DIR, whose limit makes them stall) until it fires.
 *   events-probe notify V2_CGROUP_DIR FILE TIMEOUT_MS
 *       Watches a kernfs notify file (memory.events, cgroup.events), then forks a child
 *       into the cgroup that exits at once (populated 0 -> 1 -> 0), and waits for the event.
 *
 * Exit: 0 every event came in time, 1 a deadline passed or an assertion failed, 2 usage or
 * setup error, 3 registration refused (the reason is printed: the loop's fallback case).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "psi-trigger.h"
#include "util.h"

#define KILLS_MAX 1000
#define HOG_CAP   (2048u << 20) /* a hog stops by itself past 2 GiB: the limit is missing */

static int64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int join(const char *dir)
{
        char path[4096];
        int fd, ok;

        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ok = write(fd, "0", 1) == 1; /* 0: the writing process */
        close(fd);
        return ok ? 0 : -1;
}

/* In the child: joins the cgroups, offers itself to the OOM killer, allocates until killed. */
static _Noreturn void hog(const char *dir1, const char *dir2)
{
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

        if (fd >= 0) {
                if (write(fd, "1000", 4) != 4)
                        _exit(4);
                close(fd);
        }
        if ((dir1 && join(dir1) < 0) || (dir2 && join(dir2) < 0))
                _exit(5);
        for (size_t total = 0; total < HOG_CAP; total += 1u << 20) {
                char *p = malloc(1u << 20);

                if (!p)
                        _exit(6);
                memset(p, 1, 1u << 20);
        }
        _exit(3);
}

static pid_t spawn_hog(const char *dir1, const char *dir2, int *ret_pidfd)
{
        pid_t pid = fork();

        if (pid < 0)
                return -1;
        if (pid == 0)
                hog(dir1, dir2);
        *ret_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (*ret_pidfd < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        return pid;
}

static int wait_ms_left(int64_t deadline_us)
{
        int64_t left = deadline_us - now_us();

        return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[n]. */
static int64_t percentile(const int64_t *v, size_t n, unsigned pct)
{
        size_t rank = (n * pct + 99) / 100;

        return v[rank == 0 ? 0 : rank - 1];
}

struct kill_result {
        int64_t reap_us, event_us;
        int status;
        bool counted; /* oom_kill had already risen when the event was dispatched */
};

/* The cgroup's oom_kill counter (memory.oom_control on v1, memory.events on v2), or -1. */
static long long read_oom_kill(const char *dir)
{
        static const char *const files[] = { "memory.oom_control", "memory.events" };
        char path[4096], key[64];
        long long v = -1, x;

        for (size_t i = 0; i < ELEMENTSOF(files) && v < 0; i++) {
                FILE *f;

                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                f = fopen(path, "re");
                if (!f)
                        continue;
                while (fscanf(f, "%63s %lld", key, &x) == 2)
                        if (strcmp(key, "oom_kill") == 0)
                                v = x;
                fclose(f);
        }
        return v;
}

/* One hog until both its death and the OOM event were seen, or the deadline. */
static int one_kill(struct events_source *src, const char *dir, int timeout_ms,
                    struct kill_result *ret)
{
        int64_t deadline = now_us() + (int64_t)timeout_ms * 1000;
        struct kill_result k = { .reap_us = -1, .event_us = -1, .status = -1 };
        long long kills0 = read_oom_kill(dir);
        int pidfd;
        pid_t pid = spawn_hog(dir, NULL, &pidfd);

        if (pid < 0)
                return -2;
        while (k.reap_us < 0 || k.event_us < 0) {
                struct pollfd p[2] = { { .fd = src->fd, .events = src->poll_events },
                                       { .fd = k.reap_us < 0 ? pidfd : -1, .events = POLLIN } };
                int n = poll(p, 2, wait_ms_left(deadline));
                int64_t t = now_us();
                struct events_fired f;

                if (n == 0)
                        break;
                if (p[1].revents) {
                        k.reap_us = t;
                        waitpid(pid, &k.status, 0);
                }
                if (p[0].revents && events_dispatch(src, p[0].revents, &f) == 1 && k.event_us < 0) {
                        k.event_us = t;
                        k.counted = read_oom_kill(dir) > kills0;
                }
        }
        close(pidfd);
        if (k.reap_us < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        *ret = k;
        return k.reap_us >= 0 && k.event_us >= 0 ? 0 : -1;
}

static int drain(struct events_source *src)
{
        struct pollfd p = { .fd = src->fd, .events = src->poll_events };
        struct events_fired f;

        while (poll(&p, 1, 0) == 1)
                if (events_dispatch(src, p.revents, &f) <= 0)
                        break;
        return 0;
}

/* v1: the OOM eventfd; a v2 cgroup (no memory.oom_control): memory.events. */
static int open_oom_source(const char *dir, char *reason, struct events_source *ret)
{
        int r = events_v1_oom_open(dir, 1, reason, ret);

        if (r == -ENOENT)
                r = events_v2_notify_open(dir, "memory.events", 1, reason, ret);
        return r;
}

static int mode_oom(int argc, char **argv)
{
        static int64_t lat[KILLS_MAX];
        struct events_source src;
        char reason[EVENTS_REASON_MAX];
        int kills, timeout_ms, failed = 0, counted = 0;
        int64_t max_abs = 0;

        if (argc != 5)
                return 2;
        kills = atoi(argv[3]);
        timeout_ms = atoi(argv[4]);
        if (kills <= 0 || kills > KILLS_MAX || timeout_ms <= 0)
                return 2;
        if (open_oom_source(argv[2], reason, &src) < 0) {
                printf("refused: %s\n", reason);
                return 3;
        }
        printf("source: %s\n", events_kind_name(src.kind));
        for (int i = 0; i < kills; i++) {
                struct kill_result k;
                int r;

                drain(&src);
                r = one_kill(&src, argv[2], timeout_ms, &k);
                if (r == -2)
                        return 2;
                if (r < 0 || !WIFSIGNALED(k.status) || WTERMSIG(k.status) != SIGKILL) {
                        printf("kill %d: FAILED reaped=%s event=%s status=0x%x\n", i,
                               k.reap_us < 0 ? "no" : "yes", k.event_us < 0 ? "no" : "yes",
                               (unsigned)k.status);
                        failed++;
                        continue;
                }
                lat[i - failed] = k.event_us - k.reap_us;
                if (llabs(lat[i - failed]) > max_abs)
                        max_abs = llabs(lat[i - failed]);
                counted += k.counted;
                printf("kill %d: event - reap = %+.3f ms, oom_kill already counted at the event: "
                       "%s\n",
                       i, (double)lat[i - failed] / 1000.0, k.counted ? "yes" : "no");
        }
        events_source_close(&src);
        if (kills - failed > 0) {
                size_t n = (size_t)(kills - failed);

                qsort(lat, n, sizeof(lat[0]), cmp_i64);
                printf("summary n=%zu median_ms=%.3f p99_ms=%.3f max_abs_ms=%.3f "
                       "counted_at_event=%d\n",
                       n, (double)percentile(lat, n, 50) / 1000.0,
                       (double)percentile(lat, n, 99) / 1000.0, (double)max_abs / 1000.0, counted);
        }
        return failed ? 1 : 0;
}

static int parse_kind(const char *s, enum psi_kind *ret)
{
        if (strcmp(s, "some") == 0)
                *ret = PSI_SOME;
        else if (strcmp(s, "full") == 0)
                *ret = PSI_FULL;
        else
                return -1;
        return 0;
}

/* Runs hogs one after the other until src fires or the deadline passes. */
static int hog_until_fired(struct events_source *src, const char *v2, const char *v1,
                           int64_t deadline, struct events_fired *ret)
{
        int pidfd = -1;
        pid_t pid = -1;
        int r = -1;

        while (r < 0 && wait_ms_left(deadline) > 0) {
                struct pollfd p[2] = { { .fd = src->fd, .events = src->poll_events },
                                       { .fd = -1, .events = POLLIN } };

                if (pid < 0 && (pid = spawn_hog(v2, v1, &pidfd)) < 0)
                        return -2;
                p[1].fd = pidfd;
                if (poll(p, 2, wait_ms_left(deadline)) <= 0)
                        break;
                if (p[0].revents && events_dispatch(src, p[0].revents, ret) == 1)
                        r = 0;
                if (p[1].revents) {
                        waitpid(pid, NULL, 0);
                        close(pidfd);
                        pid = -1;
                }
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                close(pidfd);
        }
        return r;
}

static int mode_psi(int argc, char **argv)
{
        struct events_source src;
        struct psi_trigger t;
        struct events_fired f;
        enum psi_kind kind;
        char reason[EVENTS_REASON_MAX];
        bool priv = events_psi_privileged();
        int64_t start;
        int r;

        if (argc != 7 && argc != 8)
                return 2;
        if (parse_kind(argv[3], &kind) < 0 ||
            psi_trigger_derive(kind, atof(argv[4]), atoll(argv[5]), priv, &t) < 0)
                return 2;
        printf("trigger: %s %" PRIu64 " %" PRIu64 " (CAP_SYS_RESOURCE: %s)\n", argv[3], t.stall_us,
               t.window_us, priv ? "yes" : "no");
        if (events_psi_open(argv[2], &t, 2, reason, &src) < 0) {
                printf("refused: %s\n", reason);
                return 3;
        }
        start = now_us();
        r = hog_until_fired(&src, argv[2], argc == 8 ? argv[7] : NULL,
                            start + atoll(argv[6]) * 1000, &f);
        events_source_close(&src);
        if (r == -2)
                return 2;
        if (r < 0 || f.gone) {
                printf("psi: no trigger within %s ms%s\n", argv[6], r == 0 ? " (gone)" : "");
                return 1;
        }
        printf("psi fired after %.1f ms of hogging\n", (double)(now_us() - start) / 1000.0);
        return 0;
}

static int mode_notify(int argc, char **argv)
{
        struct events_source src;
        struct events_fired f;
        char reason[EVENTS_REASON_MAX];
        int64_t deadline, start;
        pid_t pid;

        if (argc != 5)
                return 2;
        if (events_v2_notify_open(argv[2], argv[3], 3, reason, &src) < 0) {
                printf("refused: %s\n", reason);
                return 3;
        }
        /* Armed: nothing may fire before the cgroup changes. */
        struct pollfd p = { .fd = src.fd, .events = src.poll_events };
        if (poll(&p, 1, 0) != 0) {
                printf("notify: fired before any change (revents 0x%x)\n", p.revents);
                return 1;
        }
        start = now_us();
        deadline = start + atoll(argv[4]) * 1000;
        pid = fork();
        if (pid < 0)
                return 2;
        if (pid == 0)
                _exit(join(argv[2]) < 0 ? 5 : 0);
        waitpid(pid, NULL, 0);
        for (;;) {
                int n = poll(&p, 1, wait_ms_left(deadline));

                if (n <= 0) {
                        printf("notify: no event on %s within %s ms\n", argv[3], argv[4]);
                        return 1;
                }
                if (events_dispatch(&src, p.revents, &f) == 1)
                        break;
        }
        printf("notify: %s changed, event %.3f ms after the child started (gone=%d)\n", argv[3],
               (double)(now_us() - start) / 1000.0, f.gone);
        events_source_close(&src);
        return 0;
}

int main(int argc, char **argv)
{
        int r = 2;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 2 && strcmp(argv[1], "oom") == 0)
                r = mode_oom(argc, argv);
        else if (argc >= 2 && strcmp(argv[1], "psi") == 0)
                r = mode_psi(argc, argv);
        else if (argc >= 2 && strcmp(argv[1], "notify") == 0)
                r = mode_notify(argc, argv);
        if (r == 2)
                fprintf(stderr, "usage: see the comment at the top of events-probe.c\n");
        return r;
}
