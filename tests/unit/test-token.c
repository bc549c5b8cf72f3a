/* SPDX-License-Identifier: MIT */
/*
 * Token files on a real file system: a Kubernetes Secret's double symlink accepted by the
 * policy load (`check` and `run`) and by the send-time read alike; the owner, mode and
 * directory-chain rules; a NUL byte, a FIFO (without blocking), rotation by swapping ..data,
 * and the fallback to the loaded token when the send-time read fails.
 *
 * The temp dir lives under the build dir when ctest says where it is: /tmp is world-writable,
 * and an other-readable token is only accepted below no world-writable directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy-load.h"
#include "token.h"
#include "util.h"

#define NOBODY_UID 65534

struct tmp {
        char dir[512];
        char path[PATH_MAX];
};

static int setup(void **state)
{
        const char *base = getenv("OOMBREAKER_BINARY_DIR");
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        snprintf(t->dir, sizeof(t->dir), "%s/test-token-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(t->dir))
                return -1;
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tmp *t = *state;
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        free(t);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *at(struct tmp *t, const char *name)
{
        snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
        return t->path;
}

/* Writes len bytes to dir/name with mode (exact, whatever the umask). */
static void put(struct tmp *t, const char *name, const char *data, size_t len, mode_t mode)
{
        int fd = open(at(t, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static void mkdir_mode(struct tmp *t, const char *name, mode_t mode)
{
        assert_int_equal(mkdir(at(t, name), 0700), 0);
        assert_int_equal(chmod(t->path, mode), 0);
}

/* Points dir/link at target atomically, as the kubelet swaps ..data. */
static void relink(struct tmp *t, const char *target, const char *link)
{
        char tmp_link[PATH_MAX];

        snprintf(tmp_link, sizeof(tmp_link), "%s/.tmp-link", t->dir);
        unlink(tmp_link);
        assert_int_equal(symlink(target, tmp_link), 0);
        assert_int_equal(rename(tmp_link, at(t, link)), 0);
}

/* A Secret as the kubelet lays it out: token -> ..data/token, ..data -> ..<stamp>. */
static void secret(struct tmp *t, const char *stamp, const char *value, mode_t mode)
{
        char name[128];

        mkdir_mode(t, stamp, 0755);
        snprintf(name, sizeof(name), "%s/token", stamp);
        put(t, name, value, strlen(value), mode);
        relink(t, stamp, "..data");
        unlink(at(t, "token"));
        assert_int_equal(symlink("..data/token", t->path), 0);
}

/* token_read() of dir/name: the error (or 0), the token in buf, why in why. */
static int read_at(struct tmp *t, const char *name, char *buf, char *why)
{
        buf[0] = why[0] = '\0';
        return token_read(at(t, name), buf, TOKEN_MAX, why, 512);
}

static void assert_contains(const char *s, const char *fragment)
{
        if (!strstr(s, fragment))
                fail_msg("\"%s\" does not contain \"%s\"", s, fragment);
}

/* Loads a policy with one http action whose token_file is path; returns the token loaded. */
static int load_policy(struct tmp *t, const char *path, unsigned flags, struct policy **ret,
                       struct policy_diags *diags)
{
        char text[PATH_MAX + 256];

        snprintf(text, sizeof(text),
                 "[batch]\nname = b\n\n[target c]\ncgroup = /c\n\n[rule r]\n"
                 "memory_ratio_above = 0.5\n\n[action a]\ntype = http\nurl = http://h/r\n"
                 "token_file = %s\n",
                 path);
        put(t, "p.ini", text, strlen(text), 0600);
        return policy_load(at(t, "p.ini"), flags, ret, diags);
}

static void test_kubernetes_symlinks(void **state)
{
        struct tmp *t = *state;
        char buf[TOKEN_MAX], why[512], path[PATH_MAX];
        static const unsigned flags[] = { POLICY_LOAD_CHECK, 0 };

        secret(t, "..2026_01_01_00_00_00.123", "k8s-token\n", 0600);
        assert_int_equal(read_at(t, "token", buf, why), 0);
        assert_string_equal(buf, "k8s-token");
        snprintf(path, sizeof(path), "%s", at(t, "token"));
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                struct policy_diags diags = { 0 };
                struct policy *p = NULL;

                assert_int_equal(load_policy(t, path, flags[i], &p, &diags), 0);
                assert_int_equal(diags.n, 0);
                assert_string_equal(p->actions[0].token, "k8s-token");
                /* The action's read: the same file, the same verdict. */
                assert_int_equal(
                        token_reread(path, p->actions[0].token, buf, sizeof(buf), why, sizeof(why)),
                        0);
                assert_string_equal(buf, "k8s-token");
                policy_free(p);
                policy_diags_clear(&diags);
        }
}

static void test_owner(void **state)
{
        struct tmp *t = *state;
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        char buf[TOKEN_MAX], why[512], want[128];

        if (geteuid() != 0)
                skip(); /* chown to another uid needs root */
        put(t, "theirs", "x\n", 2, 0600);
        assert_int_equal(chown(at(t, "theirs"), NOBODY_UID, NOBODY_UID), 0);
        assert_int_equal(read_at(t, "theirs", buf, why), -EPERM);
        snprintf(want, sizeof(want),
                 "theirs: owned by uid %d; must be owned by root or the agent's user (uid 0); "
                 "fix: chown 0 ",
                 NOBODY_UID);
        assert_contains(why, want);
        assert_string_equal(buf, "");
        /* check refuses it too (an error, not a warning), on the token_file's line. */
        assert_int_equal(load_policy(t, at(t, "theirs"), POLICY_LOAD_CHECK, &p, &diags), -EINVAL);
        assert_int_equal(diags.n, 1);
        assert_int_equal(diags.v[0].line, 13);
        assert_false(diags.v[0].warning);
        assert_contains(diags.v[0].message, want);
        policy_diags_clear(&diags);
}

static void test_modes(void **state)
{
        static const struct {
                mode_t mode;
                int error;
        } cases[] = {
                { 0600, 0 },      { 0400, 0 },      { 0640, 0 },      { 0440, 0 },
                { 0620, -EPERM }, { 0602, -EPERM }, { 0660, -EPERM }, { 0666, -EPERM },
        };
        struct tmp *t = *state;
        char buf[TOKEN_MAX], why[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                put(t, "m", "tok\n", 4, cases[i].mode);
                if (read_at(t, "m", buf, why) != cases[i].error)
                        fail_msg("mode %04o: want %d, why \"%s\"", (unsigned)cases[i].mode,
                                 cases[i].error, why);
                if (cases[i].error)
                        assert_contains(why, "lets group or others write it; fix: chmod go-w");
                unlink(at(t, "m"));
        }
}

/* Whether a directory above dir is world-writable (then 0644 cannot be accepted there). */
static bool chain_world_writable(const char *dir)
{
        char d[PATH_MAX], *slash;
        struct stat st;

        snprintf(d, sizeof(d), "%s", dir);
        while ((slash = strrchr(d, '/')) && slash != d) {
                *slash = '\0';
                if (stat(d, &st) == 0 && (st.st_mode & S_IWOTH))
                        return true;
        }
        return false;
}

static void test_other_read_and_chain(void **state)
{
        struct tmp *t = *state;
        char buf[TOKEN_MAX], why[512], real[PATH_MAX];

        assert_non_null(realpath(t->dir, real));
        /* Refused below a world-writable directory, sticky or not. */
        mkdir_mode(t, "open", 0777);
        mkdir_mode(t, "open/sub", 0755);
        put(t, "open/sub/t", "tok\n", 4, 0644);
        assert_int_equal(read_at(t, "open/sub/t", buf, why), -EPERM);
        assert_contains(why, "mode 0644 lets others read it and ");
        assert_contains(why, "/open is world-writable; fix: chmod o-r");
        mkdir_mode(t, "sticky", 01777);
        put(t, "sticky/t", "tok\n", 4, 0644);
        assert_int_equal(read_at(t, "sticky/t", buf, why), -EPERM);
        /* 0600 is fine there: only other read depends on the chain. */
        put(t, "sticky/u", "tok\n", 4, 0600);
        assert_int_equal(read_at(t, "sticky/u", buf, why), 0);
        /* Through a symlink from a world-writable dir to a private one: the real path counts. */
        mkdir_mode(t, "private", 0755);
        put(t, "private/t", "tok\n", 4, 0644);
        assert_int_equal(symlink("../private/t", at(t, "sticky/link")), 0);
        if (chain_world_writable(real)) {
                print_message("skipped: %s is below a world-writable directory\n", real);
                skip();
        }
        assert_int_equal(read_at(t, "private/t", buf, why), 0);
        assert_string_equal(buf, "tok");
        assert_int_equal(read_at(t, "sticky/link", buf, why), 0);
}

static void test_content(void **state)
{
        static const struct {
                const char *data;
                size_t len;
                int error;
                const char *fragment;
        } cases[] = {
                { "abc\n", 4, 0, NULL },
                { "abc", 3, 0, NULL },
                { "abc\0def\n", 8, -EINVAL, "contains a NUL byte" },
                { "abc\n\0", 5, -EINVAL, "contains a NUL byte" },
                { "", 0, -EINVAL, "empty or more than one line" },
                { "\n", 1, -EINVAL, "empty or more than one line" },
                { "a\nb\n", 4, -EINVAL, "empty or more than one line" },
                { "a\r\n", 3, -EINVAL, "empty or more than one line" },
        };
        struct tmp *t = *state;
        char buf[TOKEN_MAX], why[512], *big;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                put(t, "c", cases[i].data, cases[i].len, 0600);
                assert_int_equal(read_at(t, "c", buf, why), cases[i].error);
                if (cases[i].error) {
                        assert_contains(why, cases[i].fragment);
                        assert_string_equal(buf, "");
                } else {
                        assert_string_equal(buf, "abc");
                }
        }
        big = malloc(TOKEN_MAX);
        assert_non_null(big);
        memset(big, 'x', TOKEN_MAX);
        put(t, "c", big, TOKEN_MAX, 0600);
        free(big);
        assert_int_equal(read_at(t, "c", buf, why), -E2BIG);
        assert_contains(why, "too long");
}

/* A FIFO (no writer) and a directory are refused at once; alarm() kills a blocked open. */
static void test_not_regular(void **state)
{
        struct tmp *t = *state;
        char buf[TOKEN_MAX], why[512];

        assert_int_equal(mkfifo(at(t, "fifo"), 0600), 0);
        alarm(10);
        assert_int_equal(read_at(t, "fifo", buf, why), -EPERM);
        alarm(0);
        assert_contains(why, "fifo: a FIFO; it must be a regular file");
        mkdir_mode(t, "d", 0700);
        assert_int_equal(read_at(t, "d", buf, why), -EPERM);
        assert_contains(why, "a directory");
        assert_int_equal(read_at(t, "missing", buf, why), -ENOENT);
        assert_contains(why, "missing: does not exist");
}

/* The kubelet swaps ..data to a new dir: the send-time read sees the new token. */
static void test_rotation(void **state)
{
        struct tmp *t = *state;
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        char buf[TOKEN_MAX], why[512], path[PATH_MAX];

        secret(t, "..2026_01_01_00_00_00.1", "old-token\n", 0600);
        snprintf(path, sizeof(path), "%s", at(t, "token"));
        assert_int_equal(load_policy(t, path, 0, &p, &diags), 0);
        assert_string_equal(p->actions[0].token, "old-token");
        mkdir_mode(t, "..2026_01_02_00_00_00.2", 0755);
        put(t, "..2026_01_02_00_00_00.2/token", "new-token\n", 10, 0600);
        relink(t, "..2026_01_02_00_00_00.2", "..data");
        assert_int_equal(
                token_reread(path, p->actions[0].token, buf, sizeof(buf), why, sizeof(why)), 0);
        assert_string_equal(buf, "new-token");
        policy_free(p);
        policy_diags_clear(&diags);
}

/* A send-time read that fails sends the loaded token, with a warning; without one, fails. */
static void test_reread_fallback(void **state)
{
        struct tmp *t = *state;
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        char buf[TOKEN_MAX], why[512], path[PATH_MAX];

        secret(t, "..2026_01_01_00_00_00.1", "loaded-token\n", 0600);
        snprintf(path, sizeof(path), "%s", at(t, "token"));
        assert_int_equal(load_policy(t, path, 0, &p, &diags), 0);
        assert_int_equal(unlink(at(t, "..data")), 0);
        assert_int_equal(
                token_reread(path, p->actions[0].token, buf, sizeof(buf), why, sizeof(why)), 1);
        assert_string_equal(buf, "loaded-token");
        assert_contains(why, "token: does not exist");
        assert_contains(why, "; sending the token read when the policy loaded");
        assert_null(strstr(why, "loaded-token"));
        /* A file that turned bad (not only missing) falls back the same way. */
        put(t, "..2026_01_01_00_00_00.1/token", "new\n", 4, 0666);
        relink(t, "..2026_01_01_00_00_00.1", "..data");
        assert_int_equal(
                token_reread(path, p->actions[0].token, buf, sizeof(buf), why, sizeof(why)), 1);
        assert_string_equal(buf, "loaded-token");
        assert_contains(why, "lets group or others write it");
        buf[0] = '\0';
        assert_int_equal(token_reread(path, NULL, buf, sizeof(buf), why, sizeof(why)), -EPERM);
        assert_string_equal(buf, "");
        policy_free(p);
        policy_diags_clear(&diags);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kubernetes_symlinks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_read_and_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_content, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reread_fallback, setup, teardown),
        };

        return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
