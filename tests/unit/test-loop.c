/* SPDX-License-Identifier: MIT */
/*
 * The loop on a fake clock over a fake cgroupfs tree: the test steps the time, rewrites the
 * cgroup's memory files (the samplers read them through their kept-open fds), and checks
 * the ticks, their cadence, a trip, and the /metrics families.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch-internal.h"
#include "count-allocs.h"
#include "loop-internal.h"
#include "util.h"

#include "fixture-tree.h"

#define GiB   (UINT64_C(1) << 30)
#define T0_MS INT64_C(1000000) /* the fake clock starts here */

static const char policy_text[] = "[batch]\n"
                                  "name = b1\n"
                                  "interval = 1s\n"
                                  "consecutive = 3\n"
                                  "\n"
                                  "[target canary-1]\n"
                                  "cgroup = /canary\n"
                                  "\n"
                                  "[rule high]\n"
                                  "memory_ratio_above = 0.9\n"
                                  "\n" /* a forecast too: its ticks must not allocate either */
                                  "[rule leak]\n"
                                  "time_to_limit_below = 30s\n";

struct fixture {
        char dir[64]; /* /tmp/test-loop-XXXXXX */
        char cgroup_root[PATH_MAX];
        char state_dir[PATH_MAX];
        char policy[PATH_MAX];
        const char *policy_files[1];
        struct loop_config cfg;
        uint64_t now_ns;
        struct loop l;
};

static uint64_t fake_now_ns(void *userdata)
{
        return ((struct fixture *)userdata)->now_ns;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_non_null(tmpdir_make(f->dir, sizeof(f->dir), "test-loop"));
        fake_tree_make(f->dir, f->cgroup_root, f->state_dir);
        snprintf(f->policy, sizeof(f->policy), "%s/b1.ini", f->dir);
        write_file(f->dir, "b1.ini", policy_text);
        f->policy_files[0] = f->policy;
        f->cfg = (struct loop_config){ .policy_files = f->policy_files,
                                       .n_policy_files = 1,
                                       .state_dir = f->state_dir,
                                       .cgroup_root = f->cgroup_root };
        f->now_ns = (uint64_t)T0_MS * 1000000;
        f->l = (struct loop){
                .cfg = &f->cfg, .clock = { fake_now_ns, f }, .tfd = -1, .sfd = -1, .lock_fd = -1
        };
        assert_int_equal(loop_setup_env(&f->l), 0);
        assert_int_equal(loop_load_all(&f->l), 0);
        assert_int_equal(f->l.n, 1);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        loop_teardown(&f->l);
        rm_tree(f->dir);
        free(f);
        return 0;
}

/* Moves the fake clock to t_ms (after T0) in steps of step_ms, turning the loop at each. */
static void run_until(struct fixture *f, int64_t t_ms, int64_t step_ms)
{
        int64_t now = (int64_t)(f->now_ns / 1000000);

        while (now < T0_MS + t_ms) {
                now = now + step_ms < T0_MS + t_ms ? now + step_ms : T0_MS + t_ms;
                f->now_ns = (uint64_t)now * 1000000;
                loop_run_due(&f->l, now);
        }
}

/* The ticks the (one) batch has counted in its tick histogram. */
static uint64_t ticks(const struct fixture *f)
{
        return f->l.batches[0]->ticks.count;
}

static void test_cadence(void **state)
{
        struct fixture *f = *state;

        loop_run_due(&f->l, T0_MS); /* the first tick is at arming */
        assert_int_equal(ticks(f), 1);
        run_until(f, 5000, 100);
        assert_int_equal(ticks(f), 6); /* 0, 1, ..., 5 s: one per interval */
        assert_int_equal(loop_next_deadline(&f->l), T0_MS + 6000);
        assert_int_equal(f->l.last_tick_end_ms, T0_MS + 5000);
        /* A loop that wakes late ticks once, and the next tick keeps to the grid. */
        run_until(f, 9500, 4500); /* one wake-up, 4.5 s late */
        assert_int_equal(ticks(f), 7);
        assert_int_equal(loop_next_deadline(&f->l), T0_MS + 10000);
        run_until(f, 10000, 100);
        assert_int_equal(ticks(f), 8);
}

static void test_trip(void **state)
{
        struct fixture *f = *state;
        struct batch *b = f->l.batches[0];

        loop_run_due(&f->l, T0_MS);
        run_until(f, 2000, 250);
        assert_int_equal(batch_phase(b), BREAKER_ARMED);
        fake_tree_set_working_set(f->cgroup_root, GiB * 19 / 10); /* 0.95 of the limit */
        run_until(f, 3000, 250);
        assert_int_equal(batch_phase(b), BREAKER_BREACHING);
        run_until(f, 4000, 250);
        assert_int_equal(batch_phase(b), BREAKER_BREACHING);
        f->l.publish = false;
        run_until(f, 5000, 250);
        assert_int_equal(batch_phase(b), BREAKER_TRIPPED);
        assert_true(f->l.publish); /* the tick asks for the news to be published */
        /* A trip latches: the working set falls back and the batch stays tripped. */
        fake_tree_set_working_set(f->cgroup_root, GiB);
        run_until(f, 8000, 250);
        assert_int_equal(batch_phase(b), BREAKER_TRIPPED);
}

/* The line of text that starts with prefix, or NULL. */
static const char *line_of(const char *text, const char *prefix)
{
        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, strlen(prefix)) == 0)
                        return p;
        return NULL;
}

static void assert_sample(const char *text, const char *series, const char *value)
{
        char want[256];
        const char *line = line_of(text, series);

        snprintf(want, sizeof(want), "%s %s\n", series, value);
        if (!line || strncmp(line, want, strlen(want)) != 0)
                fail_msg("want \"%s %s\" in:\n%s", series, value, text);
}

static void test_metrics_families(void **state)
{
        static const char *const families[] = {
                "oombreaker_build_info",
                "oombreaker_batch_state",
                "oombreaker_breach_streak",
                "oombreaker_trips_total",
                "oombreaker_action_attempts_total",
                "oombreaker_action_status",
                "oombreaker_memory_ratio",
                "oombreaker_memory_working_set_bytes",
                "oombreaker_gc_per_second",
                "oombreaker_sample_errors_total",
                "oombreaker_tick_duration_seconds",
        };
        struct fixture *f = *state;
        _cleanup_free_ char *text = NULL;
        const char *prev = NULL;

        loop_run_due(&f->l, T0_MS);
        fake_tree_set_working_set(f->cgroup_root, GiB * 19 / 10);
        run_until(f, 3000, 500);
        text = exposition_text(f->l.batches, f->l.n);
        assert_non_null(text);
        /* Each family once, HELP before TYPE, in the table's order. */
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                char help[128];
                const char *at;

                snprintf(help, sizeof(help), "# HELP %s ", families[i]);
                at = strstr(text, help);
                if (!at || strstr(at + 1, help) || (prev && at < prev))
                        fail_msg("family %s: missing, repeated or out of order in:\n%s",
                                 families[i], text);
                prev = at;
        }
        assert_sample(text, "oombreaker_batch_state{batch=\"b1\",state=\"tripped\"}", "1");
        assert_sample(text, "oombreaker_batch_state{batch=\"b1\",state=\"armed\"}", "0");
        assert_sample(text,
                      "oombreaker_breach_streak{batch=\"b1\",instance=\"canary-1\",rule=\"high\"}",
                      "3");
        assert_sample(text, "oombreaker_trips_total{batch=\"b1\"}", "1");
        assert_sample(text,
                      "oombreaker_memory_working_set_bytes{batch=\"b1\",instance=\"canary-1\"}",
                      "2040109465");
        assert_sample(text, "oombreaker_memory_ratio{batch=\"b1\",instance=\"canary-1\"}",
                      "0.94999999972060323");
        assert_sample(text,
                      "oombreaker_sample_errors_total{batch=\"b1\",instance=\"canary-1\",source="
                      "\"cgroup\"}",
                      "0");
        assert_sample(text, "oombreaker_tick_duration_seconds_count{batch=\"b1\"}", "4");
        /* No runtime endpoint: no GC figure, so the family has no samples. */
        assert_null(line_of(text, "oombreaker_gc_per_minute{"));
}

/* On a fixture tree (not cgroupfs) no event source registers: the batch polls, and says so. */
static void test_polling_fallback(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *text = loop_status_text(&f->l);

        assert_non_null(text);
        assert_non_null(strstr(text, "\"events\":\"polling\""));
        assert_non_null(strstr(text, "\"events_error\":\"target "));
}

/* A steady-state tick of the whole loop (sample, decide, trace, publish) allocates nothing. */
static void test_steady_tick_allocates_nothing(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        size_t before;

        if (!COUNT_ALLOCS)
                skip();
        snprintf(path, sizeof(path), "%s/trace.jsonl", f->dir);
        f->l.env.trace = fopen(path, "ae");
        assert_non_null(f->l.env.trace);
        loop_run_due(&f->l, T0_MS);
        run_until(f, 3000, 250); /* warm-up: the first ticks open files and fill buffers */
        before = n_allocs;
        for (int64_t t = 3250; t <= 13000; t += 250) { /* as loop_run() turns, publish included */
                f->now_ns = (uint64_t)(T0_MS + t) * 1000000;
                loop_run_due(&f->l, T0_MS + t);
                if (f->l.publish)
                        loop_publish(&f->l);
        }
        assert_int_equal(ticks(f), 14);
        if (n_allocs != before)
                fail_msg("10 steady ticks made %zu heap allocations", n_allocs - before);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cadence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_families, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polling_fallback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_steady_tick_allocates_nothing, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
