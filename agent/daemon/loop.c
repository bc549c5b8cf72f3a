/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cgroup.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "loop-internal.h"
#include "notify.h"
#include "server.h"
#include "clock.h"
#include "util.h"

/* Runs what is due at now: ticks first, then action attempts. */
void loop_run_due(struct loop *l, int64_t now)
{
        for (size_t i = 0; i < l->n; i++) {
                if (now < batch_next_tick_ms(l->batches[i]))
                        continue;
                uint64_t t0 = loop_now_ns(l);

                batch_tick(l->batches[i], now);
                batch_tick_took(l->batches[i], (double)(loop_now_ns(l) - t0) / 1e9);
        }
        if (l->n == 0 && now >= l->idle_next_ms) {
                l->idle_next_ms = now + LOOP_IDLE_TICK_MS;
                loop_on_evaluated(l);
        }
        for (size_t i = 0; i < l->n; i++)
                batch_run_actions(l->batches[i], now);
}

int64_t loop_next_deadline(const struct loop *l)
{
        int64_t d = l->n ? INT64_MAX : l->idle_next_ms;

        for (size_t i = 0; i < l->n; i++) {
                int64_t t = batch_next_tick_ms(l->batches[i]);
                int64_t a = batch_actions_due_ms(l->batches[i]);

                d = t < d ? t : d;
                d = a < d ? a : d;
        }
        if (l->rescan_due_ms && l->rescan_due_ms < d)
                d = l->rescan_due_ms;
        return d;
}

static void arm_timer(struct loop *l, int64_t deadline)
{
        struct itimerspec its = { 0 };

        if (deadline <= 0)
                deadline = 1;
        its.it_value.tv_sec = deadline / 1000;
        its.it_value.tv_nsec = (deadline % 1000) * 1000000;
        timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void handle_signals(struct loop *l)
{
        struct signalfd_siginfo si;

        while (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                        l->reload = true;
                } else {
                        log_notice("%s received: stopping (pending actions stay pending)",
                                   si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                        l->quit = true;
                }
        }
}

/* Hands each ready kernel event source to its batch. */
static void dispatch_events(struct loop *l, int64_t now)
{
        struct epoll_event ev[64];
        int n = epoll_wait(l->efd, ev, (int)ELEMENTSOF(ev), 0);

        for (int i = 0; i < n; i++)
                if (ev[i].data.ptr == &l->policy_watch)
                        loop_policy_dir_event(l, ev[i].events, now);
                else
                        batch_event(ev[i].data.ptr, ev[i].events, now);
}

/* One wait: gathers every fd, polls through curl, and hands readiness back. */
static int wait_once(struct loop *l)
{
        struct pollfd fds[LOOP_FDS_MAX];
        struct http_waitfd w[LOOP_FDS_MAX];
        size_t n = 2, nc, nb[LOOP_BATCHES_MAX];
        int64_t now = loop_now_ms(l), deadline = loop_next_deadline(l);
        int timeout, r;
        uint64_t exp;

        arm_timer(l, deadline);
        fds[0] = (struct pollfd){ .fd = l->tfd, .events = POLLIN };
        fds[1] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
        nc = l->control ? control_pollfds(l->control, fds + n, CONTROL_CLIENTS_MAX + 1) : 0;
        n += nc;
        for (size_t i = 0; i < l->n; i++) {
                nb[i] = batch_pollfds(l->batches[i], fds + n, LOOP_FDS_MAX - n);
                n += nb[i];
        }
        if (l->server)
                fds[n++] = server_pollfd(l->server);
        if (l->efd >= 0)
                fds[n++] = (struct pollfd){ .fd = l->efd, .events = POLLIN };
        for (size_t i = 0; i < n; i++)
                w[i] = (struct http_waitfd){ .fd = fds[i].fd, .events = fds[i].events };
        timeout = deadline - now > LOOP_WAIT_MAX_MS ? LOOP_WAIT_MAX_MS
                  : deadline > now                  ? (int)(deadline - now)
                                                    : 0;
        if (l->server)
                timeout = server_timeout_ms(l->server, timeout);
        r = http_poll(l->http, w, n, timeout);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                fds[i].revents = w[i].revents;
        now = loop_now_ms(l);
        if (fds[0].revents)
                while (read(l->tfd, &exp, sizeof(exp)) > 0)
                        ;
        if (fds[1].revents)
                handle_signals(l);
        if (l->control)
                control_dispatch(l->control, fds + 2, nc, now);
        n = 2 + nc;
        for (size_t i = 0; i < l->n; i++) {
                batch_dispatch(l->batches[i], fds + n, nb[i], now);
                n += nb[i];
        }
        if (l->server) /* also without readiness: it closes idle connections */
                server_dispatch(l->server);
        if (l->efd >= 0 && fds[n + (l->server ? 1 : 0)].revents)
                dispatch_events(l, now);
        return 0;
}

static int open_fds(struct loop *l)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        signal(SIGPIPE, SIG_IGN);
        l->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->sfd < 0 || l->tfd < 0)
                return -errno;
        return 0;
}

/*
 * One agent per state directory: two would both act on the same trip under different
 * keys. The lock lives as long as the process. Its fd is read-only: flock() needs no more,
 * and a writable fd would keep the state dir's filesystem from being remounted read-only.
 */
static int lock_state_dir(struct loop *l)
{
        char path[PATH_MAX];
        int r;

        /* errno is taken before logging, which may change it. */
        if (mkdir(l->cfg->state_dir, 0750) < 0 && errno != EEXIST) {
                r = -errno;
                log_error("state directory %s: %s", l->cfg->state_dir, strerror(-r));
                return r;
        }
        if (snprintf(path, sizeof(path), "%s/.lock", l->cfg->state_dir) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        l->lock_fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (l->lock_fd < 0) {
                r = -errno;
                log_error("state directory %s: cannot open its lock: %s", l->cfg->state_dir,
                          strerror(-r));
                return r;
        }
        if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                log_error("state directory %s is in use by another oombreaker run (it holds "
                          "the lock on %s); stop it first",
                          l->cfg->state_dir, path);
                return -EBUSY;
        }
        return 0;
}

int loop_setup_env(struct loop *l)
{
        char err[CGROUP_ERROR_MAX] = "";
        uint64_t run;
        int r;

        r = l->cfg->cgroup_root ? cgroup_hierarchy_open(l->cfg->cgroup_root, err, &l->hierarchy)
                                : cgroup_hierarchy_discover(err, &l->hierarchy);
        if (r < 0) {
                log_error("no memory cgroup hierarchy: %s", err);
                return r;
        }
        r = http_new(&l->http);
        if (r < 0)
                return r;
        /* Without an epoll set the batches poll, which status says. */
        l->efd = epoll_create1(EPOLL_CLOEXEC);
        events_source_init(&l->policy_watch);
        if (gethostname(l->host, sizeof(l->host) - 1) < 0)
                snprintf(l->host, sizeof(l->host), "localhost");
        if (getrandom(&run, sizeof(run), GRND_NONBLOCK) != sizeof(run))
                run = loop_now_ns(l) ^ ((uint64_t)getpid() << 32);
        snprintf(l->run_id, sizeof(l->run_id), "%016llx", (unsigned long long)run);
        l->env = (struct batch_env){ .http = l->http,
                                     .hierarchy = l->hierarchy,
                                     .state_dir = l->cfg->state_dir,
                                     .host = l->host,
                                     .start_ms = loop_now_ms(l),
                                     .evaluated = loop_on_evaluated,
                                     .userdata = l,
                                     .has_events = l->efd >= 0,
                                     .events_fd = l->efd };
        if (l->cfg->trace) {
                l->env.trace = fopen(l->cfg->trace, "ae");
                if (!l->env.trace) {
                        r = -errno;
                        log_error("--trace %s: %s", l->cfg->trace, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int setup(struct loop *l)
{
        int r;

        r = open_fds(l);
        if (r < 0) {
                log_error("cannot set up signals and timers: %s", strerror(-r));
                return r;
        }
        r = loop_setup_env(l);
        if (r < 0)
                return r;
        r = lock_state_dir(l);
        if (r < 0)
                return r;
        r = control_open(l->cfg->socket, loop_on_control, l, &l->control);
        if (r == -EADDRINUSE)
                log_error("control socket %s: another oombreaker answers on it", l->cfg->socket);
        else if (r < 0)
                log_error("control socket %s: %s", l->cfg->socket, strerror(-r));
        if (r < 0)
                return r;
        if (l->cfg->listen) {
                r = server_start(l->cfg->listen, loop_render, l, &l->server);
                if (r < 0) {
                        log_error("--listen %s: %s", l->cfg->listen,
                                  r == -EINVAL ? "not ADDR:PORT" : strerror(-r));
                        return r;
                }
        }
        loop_watch_policy_dir(l);
        return loop_load_all(l);
}

void loop_teardown(struct loop *l)
{
        for (size_t i = 0; i < l->n; i++)
                batch_free(l->batches[i]);
        l->n = 0;
        server_stop(l->server);
        control_close(l->control);
        http_free(l->http);
        cgroup_hierarchy_free(l->hierarchy);
        if (l->env.trace)
                fclose(l->env.trace);
        if (l->tfd >= 0)
                close(l->tfd);
        if (l->sfd >= 0)
                close(l->sfd);
        if (l->lock_fd >= 0)
                close(l->lock_fd);
        events_source_close(&l->policy_watch);
        if (l->efd >= 0)
                close(l->efd);
}

static uint64_t real_now_ns(void *userdata)
{
        (void)userdata;
        return mono_ns();
}

int loop_run(const struct loop_config *cfg)
{
        struct loop l = { .cfg = cfg,
                          .clock = { real_now_ns },
                          .tfd = -1,
                          .sfd = -1,
                          .lock_fd = -1,
                          .efd = -1,
                          .policy_watch = { .fd = -1 } };
        uint64_t watchdog_usec;
        int r;

        r = setup(&l);
        if (r < 0) {
                loop_teardown(&l);
                return 1;
        }
        /* Loading the policies freed their parsers' buffers: hand the free pages of the heap
         * back (~1 MiB with 1000 targets); a steady tick allocates nothing to refill them. */
        malloc_trim(0);
        log_notice("oombreaker running: %zu batch(es), state in %s, control socket %s%s%s", l.n,
                   cfg->state_dir, cfg->socket, cfg->listen ? ", metrics on " : "",
                   cfg->listen ? cfg->listen : "");
        notify_ready();
        if (notify_watchdog_usec(&watchdog_usec) > 0)
                l.watchdog_ms = (int64_t)(watchdog_usec / 1000);
        l.last_ping_ms = loop_now_ms(&l);
        l.publish = true;
        while (!l.quit) {
                loop_run_due(&l, loop_now_ms(&l));
                if (l.publish)
                        loop_publish(&l);
                loop_watchdog_keepalive(&l, loop_now_ms(&l));
                r = wait_once(&l);
                if (r < 0) {
                        log_error("the event loop failed: %s", strerror(-r));
                        break;
                }
                if (l.rescan_due_ms && loop_now_ms(&l) >= l.rescan_due_ms)
                        loop_rescan(&l);
                if (l.reload) {
                        l.reload = false;
                        loop_reload(&l);
                }
        }
        notify_stopping();
        loop_teardown(&l);
        log_notice("stopped");
        return r < 0 ? 1 : 0;
}
