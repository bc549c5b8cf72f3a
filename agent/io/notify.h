/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Service manager notifications (sd_notify(3)): readiness, status, watchdog, reload and stop.
 * Every call is a no-op returning 0 when $NOTIFY_SOCKET is unset (not started by systemd), so
 * the loop calls them unconditionally. Messages go to the socket named by the environment;
 * nothing here logs.
 */

#include <stdint.h>

/* Longest STATUS= text sent, in bytes; a longer line is cut on a UTF-8 boundary. */
#define NOTIFY_STATUS_MAX 512

/* Sends READY=1: after the first policy load, and again when a reload has finished.
 * Returns 1 if sent, 0 if not under systemd, -errno on failure. */
int notify_ready(void);

/* Sends STATUS=<line>. Control characters in line become spaces, so the text cannot
 * smuggle other assignments. Returns 1 if sent, 0 if not under systemd, -EINVAL for a NULL
 * line, other -errno on failure. */
int notify_status(const char *line);

/* Sends WATCHDOG=1 when the watchdog is enabled for this process ($WATCHDOG_USEC, and
 * $WATCHDOG_PID unset or ours). Call after a completed tick, never from a timer alone.
 * Returns 1 if sent, 0 if the watchdog is off, -errno on failure. */
int notify_watchdog(void);

/* Sends RELOADING=1 with MONOTONIC_USEC=<CLOCK_MONOTONIC now> (systemd >= 253 wants it;
 * 252 ignores it). Follow with notify_ready() once the reload is done.
 * Returns 1 if sent, 0 if not under systemd, -errno on failure. */
int notify_reloading(void);

/* Sends STOPPING=1 when shutdown begins. Returns 1 if sent, 0 if not under systemd, -errno. */
int notify_stopping(void);

/* The watchdog timeout in microseconds; ping at least every half of it. Returns 1 and sets
 * *ret_usec when enabled for this process, 0 (and *ret_usec = 0) when off, -EINVAL when
 * $WATCHDOG_USEC or $WATCHDOG_PID is malformed. */
int notify_watchdog_usec(uint64_t *ret_usec);
