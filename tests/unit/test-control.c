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

/* Echoes the command and whether the peer is privileged. */
static void handler(void *userdata, const struct control_peer *peer, json_t *request,
                    json_t **ret_response)
{
        json_t *cmd = json_object_get(request, "cmd");

        (void)userdata;
        *ret_response = json_pack("{s:b, s:O, s:b, s:i}", "ok", 1, "cmd", cmd ? cmd : json_null(),
                                  "privileged", peer->privileged, "uid", (int)peer->uid);
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
        json_t *resp = NULL, *req;
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
        req = json_pack("{s:s}", "cmd", "status");
        assert_int_equal(control_call(path, req, 2000, &resp), 0);
        assert_true(json_is_true(json_object_get(resp, "ok")));
        assert_string_equal(json_string_value(json_object_get(resp, "cmd")), "status");
        assert_int_equal(json_is_true(json_object_get(resp, "privileged")), getuid() == 0);
        json_decref(resp);

        /* Two requests in one write get two replies, in order. */
        fd = raw_connect(path);
        {
                const char two[] = "{\"cmd\":\"one\"}\n{\"cmd\":\"two\"}\n";
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

        /* Garbage and an overlong line get an error reply, not a hang or a crash. */
        fd = raw_connect(path);
        assert_int_equal(write(fd, "nope\n", 5), 5);
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "not a JSON object"));
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
                        json_t *r2 = NULL;

                        if (setgid(65534) < 0 || setuid(65534) < 0)
                                _exit(3);
                        if (control_call(path, req, 2000, &r2) < 0)
                                _exit(4);
                        _exit(json_is_false(json_object_get(r2, "privileged")) ? 0 : 5);
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        json_decref(req);
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
        json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
        int r;

        (void)state;
        r = control_call("/tmp/does-not-exist-oombreaker.sock", req, 500, &resp);
        assert_int_equal(r, -ENOENT);
        assert_null(resp);
        json_decref(req);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control),
                cmocka_unit_test(test_no_daemon),
        };

        return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
