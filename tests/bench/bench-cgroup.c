/* SPDX-License-Identifier: MIT */
/*
 * CPU per tick to sample N real cgroups, four ways, on the same files in one run:
 *   agent     cgroup_target_sample() (pread at offset 0 on kept-open fds, then parse)
 *   floor     a bare pread loop over the agent's own open fds, no parsing
 *   open      open + read + close of each of those files (paths from /proc/self/fd)
 *   libcgroup cgroup_read_value_begin/next/end on each file
 *   glob      one glob target matching the same N cgroups (re-expanded every tick, summed)
 *
 * Usage: bench-cgroup PREFIX N   (targets are PREFIX/c0000 .. under the discovered memory
 * hierarchy; scripts/bench creates and removes them). Prints one line per method with the
 * median over rounds of CPU µs per target, and the process RSS with the N targets open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libcgroup.h>

#include "cgroup.h"

#define ROUNDS    7
#define FILES_MAX 8

struct bench {
        size_t n;
        struct cgroup_target **t;
        int *fds; /* n * FILES_MAX, -1 padded */
        char (*paths)[256];
        char (*rel)[64];
        char (*names)[32];
        size_t ticks;
        struct cgroup_target *glob;
};

static double cpu_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long status_kib(const char *key)
{
        char line[256];
        long v = -1;
        FILE *f = fopen("/proc/self/status", "re");

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0)
                        v = atol(line + strlen(key) + 1);
        if (f)
                fclose(f);
        return v;
}

static void tick_agent(struct bench *b)
{
        char reason[CGROUP_ERROR_MAX];
        struct mem_sample m;

        for (size_t i = 0; i < b->n; i++)
                if (cgroup_target_sample(b->t[i], reason, &m) < 0 || !m.has_current) {
                        fprintf(stderr, "agent: target %zu: %s\n", i, reason);
                        exit(1);
                }
}

static void tick_floor(struct bench *b)
{
        char buf[CGROUP_FILE_MAX];

        for (size_t i = 0; i < b->n * FILES_MAX; i++)
                if (b->fds[i] >= 0 && pread(b->fds[i], buf, sizeof(buf), 0) <= 0)
                        exit(1);
}

static void tick_open(struct bench *b)
{
        char buf[CGROUP_FILE_MAX];

        for (size_t i = 0; i < b->n * FILES_MAX; i++) {
                int fd;

                if (!b->paths[i][0])
                        continue;
                fd = open(b->paths[i], O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
                        exit(1);
                close(fd);
        }
}

static void tick_libcgroup(struct bench *b)
{
        char line[4096];

        for (size_t i = 0; i < b->n * FILES_MAX; i++) {
                void *h = NULL;
                int r;

                /* Only the memory hierarchy's files: libcgroup has no controller for PSI. */
                if (!b->names[i][0])
                        continue;
                r = cgroup_read_value_begin("memory", b->rel[i / FILES_MAX], b->names[i], &h, line,
                                            sizeof(line));
                while (r == 0)
                        r = cgroup_read_value_next(&h, line, sizeof(line));
                if (h)
                        cgroup_read_value_end(&h); /* it does not check for NULL */
                if (r != ECGEOF)
                        exit(1);
        }
}

static void tick_glob(struct bench *b)
{
        char reason[CGROUP_ERROR_MAX];
        struct mem_sample m;

        if (cgroup_target_sample(b->glob, reason, &m) < 0 || cgroup_target_matches(b->glob) != b->n)
                exit(1);
}

/* A glob matching c0000 .. c(n-1) when n is a power of 10: "c00[0-9][0-9]" for 100. */
static void glob_for(char *buf, size_t size, const char *prefix, size_t n)
{
        size_t digits = 0, len;

        for (size_t k = n; k > 1; k /= 10)
                digits++;
        len = (size_t)snprintf(buf, size, "/%s/c", prefix);
        for (size_t i = 0; i < 4; i++)
                len += (size_t)snprintf(buf + len, size - len, "%s",
                                        i < 4 - digits ? "0" : "[0-9]");
}

/* Records the path behind each of the agent's fds, for the open and libcgroup methods. */
static void describe_fds(struct bench *b, size_t i, const char *root)
{
        for (size_t k = 0; k < FILES_MAX; k++) {
                size_t j = i * FILES_MAX + k;
                char link[64], *slash;
                ssize_t n;

                if (b->fds[j] < 0)
                        continue;
                snprintf(link, sizeof(link), "/proc/self/fd/%d", b->fds[j]);
                n = readlink(link, b->paths[j], sizeof(b->paths[j]) - 1);
                if (n <= 0)
                        exit(1);
                b->paths[j][n] = '\0';
                slash = strrchr(b->paths[j], '/');
                if (strncmp(b->paths[j], root, strlen(root)) == 0 && slash)
                        snprintf(b->names[j], sizeof(b->names[j]), "%s", slash + 1);
        }
}

/* The agent's side alone, so that the RSS measured next is the agent's. */
static void setup_agent(struct bench *b, struct cgroup_hierarchy *h, const char *prefix, size_t n)
{
        char path[CGROUP_PATH_MAX];

        b->n = n;
        b->t = calloc(n, sizeof(*b->t));
        if (!b->t)
                exit(1);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "/%s/c%04zu", prefix, i);
                if (cgroup_target_new(h, path, &b->t[i]) < 0)
                        exit(1);
        }
        tick_agent(b); /* opens every file */
}

/* The other methods' views of the same files. */
static void setup_others(struct bench *b, struct cgroup_hierarchy *h, const char *prefix)
{
        char pattern[CGROUP_PATH_MAX];
        size_t n = b->n;

        b->fds = malloc(n * FILES_MAX * sizeof(*b->fds));
        b->paths = calloc(n * FILES_MAX, sizeof(*b->paths));
        b->names = calloc(n * FILES_MAX, sizeof(*b->names));
        b->rel = calloc(n, sizeof(*b->rel));
        glob_for(pattern, sizeof(pattern), prefix, n);
        if (cgroup_target_new(h, pattern, &b->glob) < 0)
                exit(1);
        if (!b->fds || !b->paths || !b->names || !b->rel)
                exit(1);
        for (size_t i = 0; i < n; i++) {
                size_t k = cgroup_target_fds(b->t[i], b->fds + i * FILES_MAX, FILES_MAX);

                for (; k < FILES_MAX; k++)
                        b->fds[i * FILES_MAX + k] = -1;
                snprintf(b->rel[i], sizeof(b->rel[i]), "%.40s/c%04zu", prefix, i);
                describe_fds(b, i, cgroup_hierarchy_root(h));
        }
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* Median over ROUNDS of CPU µs per target; the methods alternate within each round. */
static void measure(struct bench *b, void (*const fn[])(struct bench *), size_t n_fn,
                    double *ret_us)
{
        double v[8][ROUNDS];

        for (size_t r = 0; r < ROUNDS; r++)
                for (size_t f = 0; f < n_fn; f++) {
                        double t0 = cpu_us();

                        for (size_t k = 0; k < b->ticks; k++)
                                fn[f](b);
                        v[f][r] = (cpu_us() - t0) / (double)(b->ticks * b->n);
                }
        for (size_t f = 0; f < n_fn; f++) {
                qsort(v[f], ROUNDS, sizeof(double), cmp_double);
                ret_us[f] = v[f][ROUNDS / 2];
        }
}

int main(int argc, char **argv)
{
        static void (*const fn[])(struct bench *) = { tick_agent, tick_floor, tick_open,
                                                      tick_libcgroup, tick_glob };
        struct cgroup_hierarchy *h = NULL;
        struct rlimit rl;
        struct bench b = { 0 };
        char err[CGROUP_ERROR_MAX];
        size_t files = 0, n;
        long rss0, rss1;
        double us[5];

        if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) == 0) {
                fprintf(stderr, "usage: bench-cgroup PREFIX N\n");
                return 2;
        }
        /* N targets hold up to 6 fds each: lift the soft limit, as the daemon must. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (cgroup_hierarchy_discover(err, &h) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        rss0 = status_kib("VmRSS:");
        setup_agent(&b, h, argv[1], n);
        rss1 = status_kib("VmRSS:");
        setup_others(&b, h, argv[1]);
        for (size_t i = 0; i < n * FILES_MAX; i++)
                files += b.fds[i] >= 0;
        b.ticks = n >= 2000 ? 5 : 20000 / n;
        tick_glob(&b); /* opens the matches */
        measure(&b, fn, 5, us);
        printf("n=%zu files_per_target=%.1f ticks=%zu rounds=%d\n", n, (double)files / n, b.ticks,
               ROUNDS);
        printf("agent_us=%.3f floor_us=%.3f open_us=%.3f libcgroup_us=%.3f glob_us=%.3f "
               "ratio=%.2f\n",
               us[0], us[1], us[2], us[3], us[4], us[0] / us[1]);
        printf("rss_kib=%ld rss_before_targets_kib=%ld\n", rss1, rss0);
        for (size_t i = 0; i < n; i++)
                cgroup_target_free(b.t[i]);
        cgroup_target_free(b.glob);
        cgroup_hierarchy_free(h);
        return 0;
}
