/* SPDX-License-Identifier: MIT */
/*
 * Event sources: the policy-directory watch on a temp dir (add, replace by rename, remove, a
 * ConfigMap "..data" swap, the directory going away), dispatching without allocating, and
 * registration on the fixture trees failing with a reason (the loop's fallback). The
 * debounce: test-event-tick.c; PSI trigger parameters: test-psi-trigger.c. Real cgroups:
 * tests/integration/test-events-real.sh.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "events.h"
#include "psi-trigger.h"

#include "count-allocs.h"
#include "fixture-tree.h"

#define DEADLINE_MS 2000 /* inotify events arrive in microseconds; this only bounds a failure */

/* ---- dispatching --------------------------------------------------------------------- */

/* Waits for s to fire, up to DEADLINE_MS. Returns 1 with *ret, or 0 when it did not. */
static int wait_fired(struct events_source *s, struct events_fired *ret)
{
        int64_t deadline = mono_ms() + DEADLINE_MS;

        for (;;) {
                struct pollfd p = { .fd = s->fd, .events = s->poll_events };
                int64_t left = deadline - mono_ms();
                int r;

                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        return 0;
                r = events_dispatch(s, p.revents, ret);
                assert_true(r >= 0);
                if (r == 1)
                        return 1;
        }
}

/* Whatever is queued now must be ignored (dispatch returns 0). */
static void assert_quiet(struct events_source *s)
{
        struct pollfd p = { .fd = s->fd, .events = s->poll_events };
        struct events_fired f;

        if (poll(&p, 1, 0) == 1) {
                int r = events_dispatch(s, p.revents, &f);

                if (r != 0)
                        fail_msg("expected nothing to report, got r=%d name=%s", r,
                                 r == 1 ? f.name : "");
        }
}

static void expect_change(struct events_source *s, const char *name, bool data_swap)
{
        struct events_fired f;

        if (!wait_fired(s, &f))
                fail_msg("no event for %s within %d ms", name, DEADLINE_MS);
        assert_int_equal(f.kind, EVENTS_POLICY_DIR);
        assert_int_equal(f.cookie, 42);
        assert_false(f.gone);
        assert_true(f.count >= 1);
        assert_string_equal(f.name, name);
        assert_int_equal(f.data_swap, data_swap);
        assert_quiet(s);
}

static void test_policy_dir(void **state)
{
        char dir[512], path[600], to[600], reason[EVENTS_REASON_MAX];
        struct events_source s;
        struct events_fired f;

        (void)state;
        snprintf(dir, sizeof(dir), "%s/policies", tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(events_policy_dir_open(dir, 42, reason, &s), 0);
        assert_int_equal(s.poll_events, POLLIN);
        assert_quiet(&s);

        /* Added: IN_CREATE (ignored, not finished) then IN_CLOSE_WRITE. */
        write_file(dir, "a.ini", "[batch]\n");
        expect_change(&s, "a.ini", false);

        /* Replaced atomically: the hidden temp file is ignored, the rename is the change. */
        write_file(dir, ".a.ini.tmp", "[batch]\nname = x\n");
        assert_quiet(&s);
        snprintf(path, sizeof(path), "%s/.a.ini.tmp", dir);
        snprintf(to, sizeof(to), "%s/a.ini", dir);
        assert_int_equal(rename(path, to), 0);
        expect_change(&s, "a.ini", false);

        /* Moved away, then removed. */
        snprintf(path, sizeof(path), "%s/b.ini", dir);
        assert_int_equal(rename(to, path), 0);
        expect_change(&s, "b.ini", false); /* IN_MOVED_FROM a.ini, IN_MOVED_TO b.ini */
        assert_int_equal(unlink(path), 0);
        expect_change(&s, "b.ini", false);

        /* A ConfigMap as the kubelet writes it: data dir, ..data symlink, user symlinks. */
        run("mkdir '%s/..2026_01' && echo v1 > '%s/..2026_01/c.ini'", dir, dir);
        assert_quiet(&s); /* a hidden directory */
        run("ln -s ..2026_01 '%s/..data_tmp' && mv -T '%s/..data_tmp' '%s/..data'", dir, dir, dir);
        expect_change(&s, "..data", true);
        run("ln -s ..data/c.ini '%s/c.ini'", dir); /* a new key: an IN_CREATE of a symlink */
        expect_change(&s, "c.ini", false);
        /* The update: a new data dir and a rename of ..data_tmp over ..data. */
        run("mkdir '%s/..2026_02' && echo v2 > '%s/..2026_02/c.ini'", dir, dir);
        run("ln -s ..2026_02 '%s/..data_tmp' && mv -T '%s/..data_tmp' '%s/..data'", dir, dir, dir);
        expect_change(&s, "..data", true);
        run("rm -rf '%s/..2026_01'", dir);
        assert_quiet(&s);

        /* The directory itself goes away: reported as gone. */
        run("rm -rf '%s'", dir);
        assert_int_equal(wait_fired(&s, &f), 1);
        while (!f.gone && wait_fired(&s, &f)) /* c.ini's removal may come first */
                ;
        assert_true(f.gone);
        events_source_close(&s);
        assert_int_equal(s.fd, -1);
        events_source_close(&s); /* idempotent */
}

/* v1 and PSI dispatch on stand-in fds (an eventfd, synthetic revents); no allocation. */
static void test_dispatch(void **state)
{
        struct events_source s;
        struct events_fired f = { 0 };
        uint64_t three = 3;
        size_t before = 0;

        (void)state;
        events_source_init(&s);
        assert_int_equal(events_dispatch(&s, POLLIN, &f), -EBADF);

        s = (struct events_source){ .kind = EVENTS_V1_OOM,
                                    .fd = eventfd(0, EFD_NONBLOCK),
                                    .poll_events = POLLIN,
                                    .cookie = 7 };
        assert_true(s.fd >= 0);
        assert_int_equal(write(s.fd, &three, sizeof(three)), sizeof(three));
#if COUNT_ALLOCS
        before = n_allocs;
#endif
        assert_int_equal(events_dispatch(&s, POLLIN, &f), 1);
        assert_int_equal(f.kind, EVENTS_V1_OOM);
        assert_int_equal(f.cookie, 7);
        assert_int_equal(f.count, 3);
        assert_false(f.gone);
        assert_int_equal(events_dispatch(&s, POLLIN, &f), 0); /* drained: spurious */
#if COUNT_ALLOCS
        assert_int_equal(n_allocs, before);
#endif
        (void)before;
        events_source_close(&s);

        s = (struct events_source){ .kind = EVENTS_PSI,
                                    .fd = eventfd(0, EFD_NONBLOCK),
                                    .poll_events = POLLPRI,
                                    .cookie = 8 };
        assert_int_equal(events_dispatch(&s, 0, &f), 0);
        assert_int_equal(events_dispatch(&s, POLLPRI, &f), 1);
        assert_int_equal(f.kind, EVENTS_PSI);
        assert_false(f.gone);
        assert_int_equal(events_dispatch(&s, POLLERR | POLLPRI, &f), 1);
        assert_true(f.gone);
        events_source_close(&s);
        assert_string_equal(events_kind_name(EVENTS_PSI), "psi");
}

/* ---- registration failure: the fallback --------------------------------------------- */

enum reg { REG_V1, REG_V2, REG_PSI, REG_DIR };

struct reg_case {
        enum reg reg;
        const char *sub, *file; /* under tmpdir */
        int r;
        const char *reason_has;
};

static int reg(const struct reg_case *c, const char *dir, char *reason, struct events_source *s)
{
        struct psi_trigger t = { PSI_SOME, 150000, 2000000 };

        switch (c->reg) {
        case REG_V1:
                return events_v1_oom_open(dir, 1, reason, s);
        case REG_V2:
                return events_v2_notify_open(dir, c->file, 1, reason, s);
        case REG_PSI:
                return events_psi_open(dir, &t, 1, reason, s);
        default:
                return events_policy_dir_open(dir, 1, reason, s);
        }
}

static void test_registration_fails_on_fixtures(void **state)
{
        static const struct reg_case cases[] = {
                { REG_V1, "cgroup-v1/memory/system.slice/order-canary@1.service", NULL,
                  -EMEDIUMTYPE, "memory.oom_control is not on a cgroup v1 filesystem" },
                { REG_V2, "cgroup-v2/system.slice/order-canary@1.service", "memory.events",
                  -EMEDIUMTYPE, "memory.events is not on a cgroup2 filesystem" },
                { REG_PSI, "cgroup-v2/system.slice/order-canary@1.service", NULL, -EMEDIUMTYPE,
                  "memory.pressure is not on a cgroup2 filesystem" },
                { REG_PSI, "cgroup-v1/unified/system.slice/order-canary@1.service", NULL,
                  -EMEDIUMTYPE, "not on a cgroup2 filesystem" },
                /* a v2 cgroup has no memory.oom_control */
                { REG_V1, "cgroup-v2/system.slice/order-canary@1.service", NULL, -ENOENT,
                  "memory.oom_control: No such file" },
                { REG_V2, "cgroup-v1/memory/system.slice", "memory.events", -ENOENT,
                  "memory.events: No such file" },
                { REG_PSI, "missing", NULL, -ENOENT, "missing: No such file" },
                { REG_DIR, "cgroup-v2/memory.stat", NULL, -ENOTDIR, "Not a directory" },
                { REG_DIR, "missing", NULL, -ENOENT, "No such file" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct reg_case *c = &cases[i];
                char dir[600], reason[EVENTS_REASON_MAX] = "";
                struct events_source s;
                int r;

                events_source_init(&s);
                snprintf(dir, sizeof(dir), "%s/%s", tmpdir, c->sub);
                r = reg(c, dir, reason, &s);
                if (r != c->r)
                        fail_msg("case %zu (%s): r=%d (%s), want %d", i, c->sub, r, reason, c->r);
                if (!strstr(reason, c->reason_has) || !strstr(reason, c->sub))
                        fail_msg("case %zu: reason \"%s\" lacks \"%s\" or the path", i, reason,
                                 c->reason_has);
                assert_int_equal(s.fd, -1); /* *ret untouched */
        }
}

/* A refused PSI registration on a fixture must not have written the trigger into it. */
static void test_psi_fixture_untouched(void **state)
{
        char dir[600], path[700], before[512], after[512], reason[EVENTS_REASON_MAX];
        struct psi_trigger t = { PSI_SOME, 150000, 2000000 };
        struct events_source s;
        FILE *f;
        size_t n0, n1;

        (void)state;
        snprintf(dir, sizeof(dir), "%s/cgroup-v2/system.slice/order-canary@1.service", tmpdir);
        snprintf(path, sizeof(path), "%s/memory.pressure", dir);
        f = fopen(path, "r");
        assert_non_null(f);
        n0 = fread(before, 1, sizeof(before), f);
        fclose(f);
        assert_int_equal(events_psi_open(dir, &t, 1, reason, &s), -EMEDIUMTYPE);
        f = fopen(path, "r");
        assert_non_null(f);
        n1 = fread(after, 1, sizeof(after), f);
        fclose(f);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
}

/* ---- real cgroup2 files (root, a cgroup2 mount): PSI privilege, arming, removal ---------- */

static bool cgroup2_mount(char *ret, size_t size)
{
        char line[1024], dev[256], mnt[512], type[64];
        FILE *f = fopen("/proc/self/mounts", "re");
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                if (sscanf(line, "%255s %511s %63s", dev, mnt, type) == 3 &&
                    strcmp(type, "cgroup2") == 0) {
                        snprintf(ret, size, "%s", mnt);
                        found = true;
                }
        fclose(f);
        return found;
}

/* Polls s once without waiting and dispatches what it reports. */
static int poll_now(struct events_source *s, struct events_fired *ret)
{
        struct pollfd p = { .fd = s->fd, .events = s->poll_events };

        if (poll(&p, 1, 0) != 1)
                return 0;
        return events_dispatch(s, p.revents, ret);
}

static void test_real_cgroup2(void **state)
{
        struct psi_trigger t, one_s = { PSI_SOME, 100000, 1000000 };
        char mnt[512], dir[700], reason[EVENTS_REASON_MAX];
        struct events_source psi, notify, other;
        struct events_fired f;
        bool priv = events_psi_privileged();
        int r;

        (void)state;
        if (geteuid() != 0 || !cgroup2_mount(mnt, sizeof(mnt)))
                skip(); /* needs root and a cgroup2 mount */
        snprintf(dir, sizeof(dir), "%s/oombreaker-test-events.%d", mnt, (int)getpid());
        if (mkdir(dir, 0755) < 0)
                fail_msg("mkdir %s: %s", dir, strerror(errno));

        assert_int_equal(psi_trigger_derive(PSI_SOME, 10, 5000, priv, &t), 0);
        r = events_psi_open(dir, &t, 5, reason, &psi);
        if (r == -EOPNOTSUPP) { /* PSI compiled in but off */
                rmdir(dir);
                skip();
        }
        if (r < 0)
                fail_msg("PSI trigger refused: %s", reason);
        /* A 1 s window: only with CAP_SYS_RESOURCE, else refused with the reason. */
        r = events_psi_open(dir, &one_s, 6, reason, &other);
        if (priv) {
                assert_int_equal(r, 0);
                events_source_close(&other);
        } else {
                assert_int_equal(r, -EINVAL);
                assert_non_null(strstr(reason, "CAP_SYS_RESOURCE"));
                assert_non_null(strstr(reason, "\"some 100000 1000000\""));
        }
        /* cgroup.events is armed at once: nothing fires without a change. */
        assert_int_equal(events_v2_notify_open(dir, "cgroup.events", 7, reason, &notify), 0);
        assert_int_equal(poll_now(&notify, &f), 0);
        assert_int_equal(poll_now(&psi, &f), 0);

        /* The cgroup goes away: both sources say gone. */
        assert_int_equal(rmdir(dir), 0);
        assert_int_equal(poll_now(&psi, &f), 1);
        assert_true(f.gone);
        assert_int_equal(f.cookie, 5);
        assert_int_equal(poll_now(&notify, &f), 1);
        assert_true(f.gone);
        assert_int_equal(f.cookie, 7);
        events_source_close(&psi);
        events_source_close(&notify);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_dir),
                cmocka_unit_test(test_dispatch),
                cmocka_unit_test(test_registration_fails_on_fixtures),
                cmocka_unit_test(test_psi_fixture_untouched),
                cmocka_unit_test(test_real_cgroup2),
        };

        return cmocka_run_group_tests(tests, fixture_trees_setup, fixture_trees_teardown);
}
