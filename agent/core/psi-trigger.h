/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * PSI triggers for psi rules (Documentation/accounting/psi.rst): "<some|full> <stall_us>
 * <window_us>" written to a memory.pressure file makes the kernel raise POLLPRI once the
 * tasks of that cgroup stalled for stall_us within any window_us. Pure: values in, values out.
 *
 * A rule "psi_some_above = P" (avg10, percent) becomes a trigger of the same fraction over
 * a window as close to the batch interval as the kernel allows, rounded down so the event
 * comes before the regular tick would: window in [500 ms, 10 s]; without CAP_SYS_RESOURCE
 * the kernel takes only multiples of 2 s (2..10 s). stall = ceil(P % of the window), at
 * least 1 us and at most the window. The trigger only brings the tick forward: the rule
 * itself is still judged on avg10 at that tick.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSI_WINDOW_MIN_US         500000u /* psi.rst: 500 ms .. 10 s */
#define PSI_WINDOW_MAX_US         10000000u
#define PSI_WINDOW_UNPRIV_STEP_US 2000000u /* without CAP_SYS_RESOURCE */
#define PSI_TRIGGER_TEXT_MAX      64       /* "full 10000000 10000000" and the NUL */

enum psi_kind {
        PSI_SOME,
        PSI_FULL,
        _PSI_KIND_MAX,
};

struct psi_trigger {
        enum psi_kind kind;
        uint64_t stall_us;
        uint64_t window_us;
};

/*
 * Derives the trigger for a psi rule: threshold_pct (0..100, the rule's avg10 percentage),
 * interval_ms (the batch interval, > 0), privileged (the opener has CAP_SYS_RESOURCE).
 * Returns 0 and *ret, or -EINVAL for a kind, percentage or interval out of range.
 */
int psi_trigger_derive(enum psi_kind kind, double threshold_pct, int64_t interval_ms,
                       bool privileged, struct psi_trigger *ret);

/*
 * Formats t as the kernel reads it into buf (size bytes), NUL included. Returns the number
 * of bytes to write, the trailing NUL counted (the kernel overwrites the buffer's last byte
 * with a NUL, so writing without it truncates the window), or -ENOBUFS / -EINVAL.
 */
int psi_trigger_format(const struct psi_trigger *t, char *buf, size_t size);
