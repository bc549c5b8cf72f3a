/* SPDX-License-Identifier: MIT */
/* What the loop tells the outside: /metrics and /status when asked, /healthz, systemd's status
 * and watchdog after a tick. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"
#include "loop-internal.h"
#include "notify.h"
#include "server.h"
#include "util.h"

void loop_on_evaluated(void *userdata)
{
        struct loop *l = userdata;

        l->publish = true;
        l->ticked = true;
        l->last_tick_end_ms = loop_now_ms(l);
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

/* /metrics: the batches' families, and how many policy files are invalid. */
static char *metrics_text(const struct loop *l)
{
        _cleanup_free_ char *text = exposition_text(l->batches, l->n);
        const char *n = "oombreaker_policy_errors";
        char *out = NULL;

        if (text && asprintf(&out,
                             "%s# HELP %s Policy files that did not load (status lists why).\n"
                             "# TYPE %s gauge\n%s %zu\n",
                             text, n, n, n, l->n_policy_errors) < 0)
                out = NULL;
        return out;
}

int loop_render(void *userdata, enum server_page page, char **ret_body)
{
        struct loop *l = userdata;
        char *text = page == SERVER_PAGE_METRICS ? metrics_text(l) : loop_status_text(l);

        malloc_trim(0); /* what building the page freed; the page itself goes after a tick */
        l->trim_due = true;
        if (!text)
                return -ENOMEM;
        *ret_body = text;
        return 0;
}

void loop_publish(struct loop *l)
{
        char line[NOTIFY_STATUS_MAX];
        size_t len = 0;

        l->publish = false;
        /* Pages and replies are built on the heap and freed once sent (for 1000 targets,
         * /metrics leaves ~1.6 MiB and a status ~4 MiB of free heap behind): hand it back, so
         * the agent's RSS between requests is what its state takes. */
        if (l->trim_due) {
                l->trim_due = false;
                malloc_trim(0);
        }
        if (l->server)
                server_note_tick(l->server, (uint64_t)l->last_tick_end_ms * 1000,
                                 min_interval_ms(l) * 1000);
        len = (size_t)snprintf(line, sizeof(line), "%zu batch(es)", l->n);
        for (size_t i = 0; i < l->n && len < sizeof(line); i++)
                len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s %s", i ? "," : ":",
                                        batch_name(l->batches[i]),
                                        breaker_phase_to_string(batch_phase(l->batches[i])));
        if (strcmp(line, l->status_line) != 0) {
                notify_status(line);
                snprintf(l->status_line, sizeof(l->status_line), "%s", line);
        }
        /* The watchdog hears from completed ticks, so a wedged sampler gets restarted. */
        if (l->ticked && notify_watchdog() > 0)
                l->last_ping_ms = loop_now_ms(l);
        l->ticked = false;
}

/*
 * A batch may tick less often than systemd's watchdog wants a ping (interval up to 1h,
 * WatchdogSec=30s). Between ticks, the loop pings at half the timeout while every batch's next
 * tick is still on schedule, so a long interval does not get the agent killed, while a loop
 * that stops turning or falls behind its ticks still does.
 */
void loop_watchdog_keepalive(struct loop *l, int64_t now)
{
        if (l->watchdog_ms == 0 || now - l->last_ping_ms < l->watchdog_ms / 2)
                return;
        for (size_t i = 0; i < l->n; i++)
                if (now - batch_next_tick_ms(l->batches[i]) > LOOP_WAIT_MAX_MS)
                        return;
        if (notify_watchdog() > 0)
                l->last_ping_ms = now;
}
