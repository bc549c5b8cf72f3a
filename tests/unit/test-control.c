/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "clock.h"
#include "util.h"

static atomic_bool stop;

/* Echoes the line it was given (the tests send no quotes) and whether the peer is privileged. */
static char *handler(void *userdata, const struct control_peer *peer, const char *request,
                     size_t len)
{
        char *reply = NULL;

        (void)userdata;
        if (asprintf(&reply, "{\"ok\":true,\"got\":\"%.*s\",\"privileged\":%s,\"uid\":%d}",
                     (int)len, request, peer->privileged ? "true" : "false", (int)peer->uid) < 0)
                return NULL;
        return reply;
}

static void *serve(void *arg)
{
        struct control *c = arg;

        while (!atomic_load(&stop)) {
                struct pollfd fds[CONTROL_CLIENTS_MAX + 1];
                size_t n = control_pollfds(c, fds, ELEMENTSOF(fds));

                if (poll(fds, n, 50) > 0)
                        control_dispatch(c, fds, n, mono_ms());
        }
        return NULL;
}

static int raw_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        strcpy(sa.sun_path, path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

static void test_control(void **state)
{
        char dir[] = "/tmp/test-control-XXXXXX", path[128], buf[256];
        struct control *c = NULL;
        int idle[20], fd;
        pthread_t th;
        char *resp = NULL;
        const char *req = "status";
        ssize_t n;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/control.sock", dir);
        assert_int_equal(control_open(path, handler, NULL, &c), 0);
        atomic_store(&stop, false);
        assert_int_equal(pthread_create(&th, NULL, serve, c), 0);

        /* Twenty silent clients do not keep a real request from being answered. */
        for (size_t i = 0; i < ELEMENTSOF(idle); i++)
                idle[i] = raw_connect(path);
        assert_int_equal(control_call(path, req, 2000, &resp), 0);
        assert_non_null(strstr(resp, "\"got\":\"status\""));
        assert_non_null(
                strstr(resp, getuid() == 0 ? "\"privileged\":true" : "\"privileged\":false"));
        assert_null(strchr(resp, '\n'));
        free(resp);
        /* A request holding a newline would be two requests: refused before sending. */
        assert_int_equal(control_call(path, "a\nb", 2000, &resp), -EINVAL);

        /* Two requests in one write get two replies, in order. */
        fd = raw_connect(path);
        {
                const char two[] = "one\ntwo\n";
                char got[512] = "";
                size_t len = 0;

                assert_int_equal(write(fd, two, strlen(two)), (ssize_t)strlen(two));
                while (len < sizeof(got) - 1 && !strstr(got, "\"two\"")) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };

                        assert_int_equal(poll(&p, 1, 2000), 1);
                        n = read(fd, got + len, sizeof(got) - 1 - len);
                        assert_true(n > 0);
                        len += (size_t)n;
                        got[len] = '\0';
                }
                assert_non_null(strstr(got, "\"one\""));
                assert_true(strstr(got, "\"one\"") < strstr(got, "\"two\""));
        }
        close(fd);

        /* The handler gets the line's bytes as sent; an overlong line gets the socket's own
         * error reply, not a hang or a crash. */
        fd = raw_connect(path);
        assert_int_equal(write(fd, "nope\n", 5), 5);
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "\"got\":\"nope\""));
        close(fd);
        fd = raw_connect(path);
        {
                char big[CONTROL_REQUEST_MAX + 10];

                memset(big, 'x', sizeof(big));
                assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
        }
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "too long"));
        close(fd);

        /* An unprivileged peer (not root, not in the socket's group) is flagged as such. */
        if (getuid() == 0) {
                pid_t pid;
                int status;

                /* Open the file modes so that the credential check is what is tested. */
                assert_int_equal(chmod(dir, 0711), 0);
                assert_int_equal(chmod(path, 0666), 0);
                pid = fork();
                if (pid == 0) {
                        char *r2 = NULL;

                        if (setgid(65534) < 0 || setuid(65534) < 0)
                                _exit(3);
                        if (control_call(path, req, 2000, &r2) < 0)
                                _exit(4);
                        _exit(strstr(r2, "\"privileged\":false") ? 0 : 5);
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(idle); i++)
                close(idle[i]);
        atomic_store(&stop, true);
        pthread_join(th, NULL);
        control_close(c);
        assert_int_equal(access(path, F_OK), -1);
        rmdir(dir);
}

static void test_no_daemon(void **state)
{
        char *resp = NULL;
        int r;

        (void)state;
        r = control_call("/tmp/does-not-exist-oombreaker.sock", "status", 500, &resp);
        assert_int_equal(r, -ENOENT);
        assert_null(resp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control),
                cmocka_unit_test(test_no_daemon),
        };

        return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
