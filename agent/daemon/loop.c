/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
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

static const double tick_buckets[N_BUCKETS] = { 0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                0.05,   0.1,    0.5,   1 };

void loop_on_evaluated(void *userdata)
{
        struct loop *l = userdata;

        l->publish = true;
        l->ticked = true;
        l->last_tick_end_ms = mono_ms();
}

/* The shortest interval of any batch (the idle heartbeat without one): what /healthz measures
 * staleness in. */
static uint64_t min_interval_ms(const struct loop *l)
{
        uint64_t m = l->n ? UINT64_MAX : LOOP_IDLE_TICK_MS;

        for (size_t i = 0; i < l->n; i++)
                if (batch_policy(l->batches[i])->interval_ms < m)
                        m = batch_policy(l->batches[i])->interval_ms;
        return m;
}

struct batch *loop_find_batch(struct loop *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (!strcmp(batch_name(l->batches[i]), name))
                        return l->batches[i];
        return NULL;
}

static const struct {
        const char *name;
        const char *type;
        const char *help;
} families[] = {
        { "oombreaker_batch_state", "gauge",
          "Current phase of each batch (1 for the current one)." },
        { "oombreaker_breach_streak", "gauge", "Consecutive breaches of each rule per instance." },
        { "oombreaker_trips_total", "counter", "Trips since the agent started." },
        { "oombreaker_action_attempts_total", "counter", "Action attempts by outcome." },
        { "oombreaker_memory_working_set_bytes", "gauge",
          "Working set (usage minus inactive file cache) at the last tick." },
        { "oombreaker_memory_ratio", "gauge", "Working set divided by the memory limit." },
        { "oombreaker_gc_per_minute", "gauge",
          "Runtime GC cycles per minute over the last minute." },
        { "oombreaker_sample_errors_total", "counter", "Ticks on which an input was missing." },
};

static void tick_histogram(const struct loop *l, FILE *f)
{
        const char *n = "oombreaker_tick_duration_seconds";

        fprintf(f, "# HELP %s Time spent sampling one batch's tick.\n# TYPE %s histogram\n", n, n);
        for (size_t i = 0; i < N_BUCKETS; i++)
                fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", n, tick_buckets[i],
                        (unsigned long long)l->tick_buckets[i]);
        fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", n,
                (unsigned long long)l->tick_count, n, l->tick_sum_s, n,
                (unsigned long long)l->tick_count);
}

/* The Prometheus text for every batch; malloc'd, or NULL. */
static char *metrics_text(const struct loop *l)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", families[i].name, families[i].help,
                        families[i].name, families[i].type);
                for (size_t b = 0; b < l->n; b++)
                        batch_metrics(l->batches[b], families[i].name, f);
        }
        tick_histogram(l, f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static json_t *batch_json(const struct batch *b)
{
        _cleanup_free_ char *text = NULL;

        return batch_status_format(b, &text) < 0 ? NULL : json_loads(text, 0, NULL);
}

/* {"batches":[...]} with every batch, or only the one named. */
static json_t *status_json(const struct loop *l, const char *only)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < l->n; i++)
                if (!only || !strcmp(batch_name(l->batches[i]), only))
                        json_array_append_new(a, batch_json(l->batches[i]));
        return json_pack("{s:o}", "batches", a);
}

static void publish(struct loop *l)
{
        _cleanup_free_ char *metrics = metrics_text(l), *status = NULL;
        json_t *st = status_json(l, NULL);
        char line[NOTIFY_STATUS_MAX];
        size_t len = 0;

        l->publish = false;
        status = st ? json_dumps(st, JSON_COMPACT) : NULL;
        json_decref(st);
        if (l->server && metrics && status)
                server_publish(l->server, metrics, status, (uint64_t)l->last_tick_end_ms * 1000,
                               min_interval_ms(l) * 1000);
        len = (size_t)snprintf(line, sizeof(line), "%zu batch(es)", l->n);
        for (size_t i = 0; i < l->n && len < sizeof(line); i++)
                len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s %s", i ? "," : ":",
                                        batch_name(l->batches[i]),
                                        breaker_phase_to_string(batch_phase(l->batches[i])));
        notify_status(line);
        /* The watchdog hears from completed ticks, so a wedged sampler gets restarted. */
        if (l->ticked && notify_watchdog() > 0)
                l->last_ping_ms = mono_ms();
        l->ticked = false;
}

/*
 * A batch may tick less often than systemd's watchdog wants a ping (interval up to 1h,
 * WatchdogSec=30s). Between ticks, the loop pings at half the timeout while every batch's next
 * tick is still on schedule, so a long interval does not get the agent killed, while a loop
 * that stops turning or falls behind its ticks still does.
 */
static void watchdog_keepalive(struct loop *l, int64_t now)
{
        if (l->watchdog_ms == 0 || now - l->last_ping_ms < l->watchdog_ms / 2)
                return;
        for (size_t i = 0; i < l->n; i++)
                if (now - batch_next_tick_ms(l->batches[i]) > LOOP_WAIT_MAX_MS)
                        return;
        if (notify_watchdog() > 0)
                l->last_ping_ms = now;
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fail(const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *change(struct loop *l, const struct control_peer *peer, const char *cmd,
                      struct batch *b)
{
        int r;

        if (!peer->privileged) {
                log_warning("control: %s of batch %s refused for uid %u (not root, not in the "
                            "socket's group)",
                            cmd, batch_name(b), (unsigned)peer->uid);
                return fail("permission denied: %s needs root or membership in the control "
                            "socket's group",
                            cmd);
        }
        log_notice("control: %s of batch %s requested by uid %u (pid %d)", cmd, batch_name(b),
                   (unsigned)peer->uid, (int)peer->pid);
        r = !strcmp(cmd, "reset") ? batch_reset(b, mono_ms()) : batch_promote(b);
        if (r == -EBUSY)
                return fail("batch %s tripped: reset it (and roll back) instead of promoting",
                            batch_name(b));
        if (r < 0)
                return fail("the new phase could not be saved to the state file (%s)",
                            strerror(-r));
        l->publish = true;
        return json_pack("{s:b, s:s, s:s}", "ok", 1, "batch", batch_name(b), "phase",
                         breaker_phase_to_string(batch_phase(b)));
}

static void on_control(void *userdata, const struct control_peer *peer, json_t *req, json_t **ret)
{
        struct loop *l = userdata;
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        const char *name = json_string_value(json_object_get(req, "batch"));
        struct batch *b = name ? loop_find_batch(l, name) : NULL;
        json_t *st;

        if (!cmd) {
                *ret = fail("missing \"cmd\" (status, reset or promote)");
                return;
        }
        if (name && !b) {
                *ret = fail("no batch named %s is loaded", name);
                return;
        }
        if (!strcmp(cmd, "status")) {
                st = status_json(l, name);
                json_object_set_new(st, "ok", json_true());
                *ret = st;
        } else if (!strcmp(cmd, "reset") || !strcmp(cmd, "promote")) {
                *ret = b ? change(l, peer, cmd, b) : fail("%s needs a batch", cmd);
        } else {
                *ret = fail("unknown command \"%s\" (status, reset or promote)", cmd);
        }
}

static void record_tick(struct loop *l, double seconds)
{
        for (size_t i = 0; i < N_BUCKETS; i++)
                if (seconds <= tick_buckets[i])
                        l->tick_buckets[i]++;
        l->tick_count++;
        l->tick_sum_s += seconds;
}

/* Runs what is due at now: ticks first, then action attempts. */
static void run_due(struct loop *l, int64_t now)
{
        for (size_t i = 0; i < l->n; i++) {
                if (now < batch_next_tick_ms(l->batches[i]))
                        continue;
                double t0 = ((double)mono_ns() / 1e9);

                batch_tick(l->batches[i], now);
                record_tick(l, ((double)mono_ns() / 1e9) - t0);
        }
        if (l->n == 0 && now >= l->idle_next_ms) {
                l->idle_next_ms = now + LOOP_IDLE_TICK_MS;
                loop_on_evaluated(l);
        }
        for (size_t i = 0; i < l->n; i++)
                batch_run_actions(l->batches[i], now);
}

static int64_t next_deadline(const struct loop *l)
{
        int64_t d = l->n ? INT64_MAX : l->idle_next_ms;

        for (size_t i = 0; i < l->n; i++) {
                int64_t t = batch_next_tick_ms(l->batches[i]);
                int64_t a = batch_actions_due_ms(l->batches[i]);

                d = t < d ? t : d;
                d = a < d ? a : d;
        }
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

/* One wait: gathers every fd, polls through curl, and hands readiness back. */
static int wait_once(struct loop *l)
{
        struct pollfd fds[LOOP_FDS_MAX];
        struct http_waitfd w[LOOP_FDS_MAX];
        size_t n = 2, nc, nb[LOOP_BATCHES_MAX];
        int64_t now = mono_ms(), deadline = next_deadline(l);
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
        for (size_t i = 0; i < n; i++)
                w[i] = (struct http_waitfd){ .fd = fds[i].fd, .events = fds[i].events };
        timeout = deadline - now > LOOP_WAIT_MAX_MS ? LOOP_WAIT_MAX_MS
                  : deadline > now                  ? (int)(deadline - now)
                                                    : 0;
        r = http_poll(l->http, w, n, timeout);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                fds[i].revents = w[i].revents;
        now = mono_ms();
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

        if (mkdir(l->cfg->state_dir, 0750) < 0 && errno != EEXIST) {
                log_error("state directory %s: %s", l->cfg->state_dir, strerror(errno));
                return -errno;
        }
        if (snprintf(path, sizeof(path), "%s/.lock", l->cfg->state_dir) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        l->lock_fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (l->lock_fd < 0) {
                log_error("state directory %s: cannot open its lock: %s", l->cfg->state_dir,
                          strerror(errno));
                return -errno;
        }
        if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                log_error("state directory %s is in use by another oombreaker run (it holds "
                          "the lock on %s); stop it first",
                          l->cfg->state_dir, path);
                return -EBUSY;
        }
        return 0;
}

static int setup(struct loop *l)
{
        char err[CGROUP_ERROR_MAX] = "";
        int r;

        r = open_fds(l);
        if (r < 0) {
                log_error("cannot set up signals and timers: %s", strerror(-r));
                return r;
        }
        r = l->cfg->cgroup_root ? cgroup_hierarchy_open(l->cfg->cgroup_root, err, &l->hierarchy)
                                : cgroup_hierarchy_discover(err, &l->hierarchy);
        if (r < 0) {
                log_error("no memory cgroup hierarchy: %s", err);
                return r;
        }
        r = http_new(&l->http);
        if (r < 0)
                return r;
        if (gethostname(l->host, sizeof(l->host) - 1) < 0)
                snprintf(l->host, sizeof(l->host), "localhost");
        l->env = (struct batch_env){ .http = l->http,
                                     .hierarchy = l->hierarchy,
                                     .state_dir = l->cfg->state_dir,
                                     .host = l->host,
                                     .start_ms = mono_ms(),
                                     .evaluated = loop_on_evaluated,
                                     .userdata = l };
        if (l->cfg->trace) {
                l->env.trace = fopen(l->cfg->trace, "ae");
                if (!l->env.trace) {
                        log_error("--trace %s: %s", l->cfg->trace, strerror(errno));
                        return -errno;
                }
        }
        r = lock_state_dir(l);
        if (r < 0)
                return r;
        r = control_open(l->cfg->socket, on_control, l, &l->control);
        if (r == -EADDRINUSE)
                log_error("control socket %s: another oombreaker answers on it", l->cfg->socket);
        else if (r < 0)
                log_error("control socket %s: %s", l->cfg->socket, strerror(-r));
        if (r < 0)
                return r;
        if (l->cfg->listen) {
                r = server_start(l->cfg->listen, &l->server);
                if (r < 0) {
                        log_error("--listen %s: %s", l->cfg->listen,
                                  r == -EINVAL ? "not ADDR:PORT" : strerror(-r));
                        return r;
                }
        }
        return loop_load_all(l);
}

static void teardown(struct loop *l)
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
}

int loop_run(const struct loop_config *cfg)
{
        struct loop l = { .cfg = cfg, .tfd = -1, .sfd = -1, .lock_fd = -1 };
        uint64_t watchdog_usec;
        int r;

        r = setup(&l);
        if (r < 0) {
                teardown(&l);
                return 1;
        }
        log_notice("oombreaker running: %zu batch(es), state in %s, control socket %s%s%s", l.n,
                   cfg->state_dir, cfg->socket, cfg->listen ? ", metrics on " : "",
                   cfg->listen ? cfg->listen : "");
        notify_ready();
        if (notify_watchdog_usec(&watchdog_usec) > 0)
                l.watchdog_ms = (int64_t)(watchdog_usec / 1000);
        l.last_ping_ms = mono_ms();
        l.publish = true;
        while (!l.quit) {
                run_due(&l, mono_ms());
                if (l.publish)
                        publish(&l);
                watchdog_keepalive(&l, mono_ms());
                r = wait_once(&l);
                if (r < 0) {
                        log_error("the event loop failed: %s", strerror(-r));
                        break;
                }
                if (l.reload) {
                        l.reload = false;
                        loop_reload(&l);
                }
        }
        notify_stopping();
        teardown(&l);
        log_notice("stopped");
        return r < 0 ? 1 : 0;
}
