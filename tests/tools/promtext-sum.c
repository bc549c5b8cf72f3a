/* SPDX-License-Identifier: MIT */
/*
 * promtext-sum: runs the agent's exposition parser on a file, for the differential test and
 * the benchmark.
 *
 *   promtext-sum [--openmetrics] [--repeat N] FILE [SELECTOR...]
 *
 * Leading lines starting with "## " (a fixture's header) are skipped. A selector starting
 * with '~' skips negative samples (as the JVM heap-max presets do). Prints one line per
 * selector, "n_samples<TAB>sum<TAB>selector", and exits 0; on a malformed body prints
 * "error<TAB>line<TAB>reason" and exits 1. With --repeat N the body is parsed N times and the
 * throughput goes to stderr as "bytes=B seconds=S mb_per_s=X".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promtext.h"

static char *read_file(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f)
                return NULL;
        do {
                if (cap - len < 65536) {
                        char *p = realloc(buf, cap + 65536 * 16);

                        if (!p) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = p;
                        cap += 65536 * 16;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
        } while (n > 0);
        fclose(f);
        *ret_len = len;
        return buf;
}

static size_t header_len(const char *body, size_t len)
{
        size_t off = 0;

        while (len - off >= 3 && memcmp(body + off, "## ", 3) == 0) {
                const char *nl = memchr(body + off, '\n', len - off);

                if (!nl)
                        return len;
                off = (size_t)(nl - body) + 1;
        }
        return off;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        enum promtext_format format = PROMTEXT_FORMAT_TEXT;
        struct promtext_selector sel[PROMTEXT_SELECTORS_MAX];
        struct promtext_result res[PROMTEXT_SELECTORS_MAX];
        struct promtext_error err;
        long repeat = 1;
        size_t len, skip, n = 0;
        char *body;
        int i = 1, r = 0;
        double t0;

        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--openmetrics") == 0)
                        format = PROMTEXT_FORMAT_OPENMETRICS;
                else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
                        repeat = strtol(argv[++i], NULL, 10);
                else
                        break;
        }
        if (i >= argc || repeat < 1 || argc - i - 1 > PROMTEXT_SELECTORS_MAX) {
                fprintf(stderr, "usage: promtext-sum [--openmetrics] [--repeat N] FILE "
                                "[SELECTOR...]\n");
                return 2;
        }
        body = read_file(argv[i], &len);
        if (!body) {
                fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                return 2;
        }
        skip = header_len(body, len);
        for (int a = i + 1; a < argc; a++, n++) {
                const char *s = argv[a][0] == '~' ? argv[a] + 1 : argv[a];

                if (promtext_selector_parse(s, &sel[n]) < 0) {
                        fprintf(stderr, "invalid selector: %s\n", argv[a]);
                        free(body);
                        return 2;
                }
                sel[n].skip_negative = argv[a][0] == '~';
        }
        t0 = now_s();
        for (long k = 0; k < repeat && r == 0; k++)
                r = promtext_sum(body + skip, len - skip, format, sel, n, res, &err);
        if (repeat > 1) {
                double dt = now_s() - t0;

                fprintf(stderr, "bytes=%zu seconds=%.6f mb_per_s=%.1f\n", len - skip, dt,
                        (double)(len - skip) * (double)repeat / dt / 1e6);
        }
        free(body);
        if (r < 0) {
                printf("error\t%zu\t%s\n", err.line, err.reason);
                return 1;
        }
        for (size_t k = 0; k < n; k++)
                printf("%zu\t%.17g\t%s\n", res[k].n_samples, res[k].sum, argv[i + 1 + (int)k]);
        return 0;
}
