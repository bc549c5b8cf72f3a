/* SPDX-License-Identifier: MIT */
/*
 * The floor under a whole-agent tick: a bare pread loop over the memory files of many cgroups,
 * no parsing, no rules, nothing kept. It reads what the agent's v2 sampler reads (one pread at
 * offset 0 into a 16 KiB stack buffer per kept-open file), so the agent's CPU per cgroup-tick
 * divided by this figure says what everything above the reads costs.
 *
 * Usage: bench-floor ROOT [FILE...] < DIRS
 *   DIRS: one cgroup directory per line, relative to ROOT. FILEs default to the v2 files the
 *   agent opens per target (memory.current, memory.max, memory.stat, memory.events,
 *   memory.pressure). Prints KEY=VALUE words: cgroups, files (opened), floor_us (CPU µs per
 *   cgroup-tick, median of ROUNDS rounds), floor_min_us, floor_max_us.
 *
 * Standalone on purpose: it needs none of the agent's headers, so it builds whatever shape
 * the agent's sources are in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS          7
#define SAMPLES_PER_RND 20000 /* cgroup-samples per round: 20 ticks of 1000 cgroups */
#define DIRS_MAX        100000
#define FILES_MAX       16
#define READ_BUF        16384

static const char *const default_files[] = { "memory.current", "memory.max", "memory.stat",
                                             "memory.events", "memory.pressure" };

static double cpu_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Raises the soft RLIMIT_NOFILE to the hard one: 1000 cgroups need ~5000 fds. */
static void raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* Opens every FILE in every directory read from stdin; returns the fds (n in *ret_n). */
static int *open_all(int root, const char *const *files, size_t n_files, size_t *ret_dirs,
                     size_t *ret_n)
{
        char line[4096];
        size_t cap = 1024, n = 0, dirs = 0;
        int *fds = malloc(cap * sizeof(*fds));

        while (fds && dirs < DIRS_MAX && fgets(line, sizeof(line), stdin)) {
                line[strcspn(line, "\n")] = '\0';
                if (!line[0])
                        continue;
                int dfd = openat(root, line, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        fprintf(stderr, "bench-floor: %s: %s\n", line, strerror(errno));
                        exit(1);
                }
                dirs++;
                for (size_t f = 0; f < n_files; f++) {
                        int fd = openat(dfd, files[f], O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue; /* the agent skips absent files too */
                        if (n == cap)
                                fds = realloc(fds, (cap *= 2) * sizeof(*fds));
                        if (!fds)
                                break;
                        fds[n++] = fd;
                }
                close(dfd);
        }
        if (!fds) {
                fprintf(stderr, "bench-floor: out of memory\n");
                exit(1);
        }
        *ret_dirs = dirs;
        *ret_n = n;
        return fds;
}

int main(int argc, char **argv)
{
        const char *const *files = default_files;
        size_t n_files = sizeof(default_files) / sizeof(default_files[0]), dirs, n, ticks;
        double us[ROUNDS];
        char buf[READ_BUF];
        int root, *fds;

        if (argc < 2 || argc - 2 > FILES_MAX) {
                fprintf(stderr, "usage: bench-floor ROOT [FILE...] < DIRS\n");
                return 2;
        }
        if (argc > 2) {
                files = (const char *const *)argv + 2;
                n_files = (size_t)argc - 2;
        }
        raise_nofile();
        root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                fprintf(stderr, "bench-floor: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        fds = open_all(root, files, n_files, &dirs, &n);
        if (dirs == 0 || n == 0) {
                fprintf(stderr, "bench-floor: no cgroup directories or no files on stdin\n");
                return 1;
        }
        ticks = (SAMPLES_PER_RND + dirs - 1) / dirs;
        for (int r = 0; r < ROUNDS; r++) {
                double t0 = cpu_us();

                for (size_t t = 0; t < ticks; t++)
                        for (size_t i = 0; i < n; i++)
                                if (pread(fds[i], buf, sizeof(buf), 0) < 0) {
                                        fprintf(stderr, "bench-floor: pread: %s\n",
                                                strerror(errno));
                                        return 1;
                                }
                us[r] = (cpu_us() - t0) / (double)(ticks * dirs);
        }
        qsort(us, ROUNDS, sizeof(us[0]), cmp_double);
        printf("cgroups=%zu files=%zu files_per_cgroup=%.1f floor_us=%.3f floor_min_us=%.3f "
               "floor_max_us=%.3f\n",
               dirs, n, (double)n / (double)dirs, us[ROUNDS / 2], us[0], us[ROUNDS - 1]);
        return 0;
}
