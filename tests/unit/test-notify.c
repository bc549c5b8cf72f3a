/* SPDX-License-Identifier: MIT */
/*
 * notify: each call must put the right datagram on $NOTIFY_SOCKET. The test binds its own
 * AF_UNIX datagram socket in a temp dir, points NOTIFY_SOCKET at it and reads what arrives.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"
#include "util.h"

#define RECV_DEADLINE_MS 5000
#define DGRAM_MAX        4096

struct fixture {
        char dir[64];
        char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        int fd;
};

static int setup(void **state)
{
        static struct fixture f;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        f.fd = -1;
        snprintf(f.dir, sizeof(f.dir), "/tmp/test-notify.XXXXXX");
        if (!mkdtemp(f.dir))
                return -1;
        snprintf(f.path, sizeof(f.path), "%s/notify.sock", f.dir);
        memcpy(sa.sun_path, f.path, strlen(f.path) + 1);
        f.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (f.fd < 0 || bind(f.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        *state = &f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (!f)
                return 0;
        if (f->fd >= 0)
                close(f->fd);
        unlink(f->path);
        rmdir(f->dir);
        return 0;
}

/* Points the notify and watchdog variables at the fixture; pid 0 leaves WATCHDOG_PID unset. */
static void set_env(const struct fixture *f, const char *watchdog_usec, pid_t watchdog_pid)
{
        char pid[32];

        assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
        if (watchdog_usec)
                assert_int_equal(setenv("WATCHDOG_USEC", watchdog_usec, 1), 0);
        else
                unsetenv("WATCHDOG_USEC");
        if (watchdog_pid > 0) {
                snprintf(pid, sizeof(pid), "%d", (int)watchdog_pid);
                assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
        } else {
                unsetenv("WATCHDOG_PID");
        }
}

/* Receives one datagram into buf (NUL-terminated), failing the test after the deadline. */
static void recv_dgram(int fd, char *buf, size_t size)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r;

        do
                r = poll(&p, 1, RECV_DEADLINE_MS);
        while (r < 0 && errno == EINTR);
        assert_int_equal(r, 1);
        n = recv(fd, buf, size - 1, MSG_DONTWAIT);
        assert_true(n >= 0);
        buf[n] = '\0';
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int call_ready(void)
{
        return notify_ready();
}

static int call_status(void)
{
        return notify_status("2 batches: v1.0.1-a armed, v1.0.1-b breaching");
}

static int call_status_control(void)
{
        return notify_status("a\nREADY=1\tb");
}

static int call_watchdog(void)
{
        return notify_watchdog();
}

static int call_stopping(void)
{
        return notify_stopping();
}

struct case_send {
        const char *name;
        int (*call)(void);
        const char *expect;
};

static const struct case_send send_cases[] = {
        { "ready", call_ready, "READY=1" },
        { "status", call_status, "STATUS=2 batches: v1.0.1-a armed, v1.0.1-b breaching" },
        { "status with control characters", call_status_control, "STATUS=a READY=1 b" },
        { "watchdog", call_watchdog, "WATCHDOG=1" },
        { "stopping", call_stopping, "STOPPING=1" },
};

static void test_sends(void **state)
{
        struct fixture *f = *state;
        char buf[DGRAM_MAX];

        set_env(f, "30000000", getpid());
        for (size_t i = 0; i < ELEMENTSOF(send_cases); i++) {
                const struct case_send *c = &send_cases[i];

                print_message("case: %s\n", c->name);
                assert_int_equal(c->call(), 1);
                recv_dgram(f->fd, buf, sizeof(buf));
                assert_string_equal(buf, c->expect);
        }
}

static void test_reloading(void **state)
{
        struct fixture *f = *state;
        char buf[DGRAM_MAX];
        uint64_t before, after, stamp;
        char tail;

        set_env(f, NULL, 0);
        before = now_usec();
        assert_int_equal(notify_reloading(), 1);
        after = now_usec();
        recv_dgram(f->fd, buf, sizeof(buf));
        assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%" SCNu64 "%c", &stamp, &tail),
                         1);
        assert_true(stamp >= before && stamp <= after);
}

/* A too-long status is cut to NOTIFY_STATUS_MAX bytes, never inside a UTF-8 sequence. */
static void test_status_truncated(void **state)
{
        struct fixture *f = *state;
        char line[NOTIFY_STATUS_MAX + 64], buf[DGRAM_MAX];
        size_t len;

        set_env(f, NULL, 0);
        memset(line, 'x', NOTIFY_STATUS_MAX - 1);
        /* "é" (2 bytes) straddles the cap: it must be dropped whole. */
        memcpy(line + NOTIFY_STATUS_MAX - 1, "\xc3\xa9yyy", 6);
        assert_int_equal(notify_status(line), 1);
        recv_dgram(f->fd, buf, sizeof(buf));
        len = strlen(buf);
        assert_int_equal(len, strlen("STATUS=") + NOTIFY_STATUS_MAX - 1);
        assert_int_equal(buf[len - 1], 'x');
}

struct case_watchdog {
        const char *name;
        const char *usec;
        int pid_offset; /* -1: WATCHDOG_PID unset; else getpid() + offset */
        int expect_r;
        uint64_t expect_usec;
};

static const struct case_watchdog watchdog_cases[] = {
        { "ours", "30000000", 0, 1, 30000000 },       { "no pid given", "4000000", -1, 1, 4000000 },
        { "another process's", "30000000", 1, 0, 0 }, { "not configured", NULL, -1, 0, 0 },
        { "malformed", "soon", -1, -EINVAL, 0 },
};

/* notify_watchdog_usec() reports the period only when the watchdog is for us, and
 * notify_watchdog() stays silent otherwise: the next datagram is the STOPPING=1 sentinel. */
static void test_watchdog_env(void **state)
{
        struct fixture *f = *state;
        char buf[DGRAM_MAX];

        for (size_t i = 0; i < ELEMENTSOF(watchdog_cases); i++) {
                const struct case_watchdog *c = &watchdog_cases[i];
                uint64_t usec = UINT64_MAX;

                print_message("case: %s\n", c->name);
                set_env(f, c->usec, c->pid_offset < 0 ? 0 : getpid() + c->pid_offset);
                assert_int_equal(notify_watchdog_usec(&usec), c->expect_r);
                assert_int_equal(usec, c->expect_r < 0 ? UINT64_MAX : c->expect_usec);
                assert_int_equal(notify_watchdog(), c->expect_r);
                assert_int_equal(notify_stopping(), 1);
                recv_dgram(f->fd, buf, sizeof(buf));
                assert_string_equal(buf, c->expect_r == 1 ? "WATCHDOG=1" : "STOPPING=1");
                if (c->expect_r == 1) {
                        recv_dgram(f->fd, buf, sizeof(buf));
                        assert_string_equal(buf, "STOPPING=1");
                }
        }
}

/* Outside systemd every call is a silent success. */
static void test_no_socket(void **state)
{
        uint64_t usec = UINT64_MAX;

        (void)state;
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        assert_int_equal(notify_ready(), 0);
        assert_int_equal(notify_status("idle"), 0);
        assert_int_equal(notify_reloading(), 0);
        assert_int_equal(notify_watchdog(), 0);
        assert_int_equal(notify_stopping(), 0);
        assert_int_equal(notify_watchdog_usec(&usec), 0);
        assert_int_equal(usec, 0);
        assert_int_equal(notify_status(NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sends),
                cmocka_unit_test(test_reloading),
                cmocka_unit_test(test_status_truncated),
                cmocka_unit_test(test_watchdog_env),
                cmocka_unit_test(test_no_socket),
        };

        return cmocka_run_group_tests_name("notify", tests, setup, teardown);
}
