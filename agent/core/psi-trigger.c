/* SPDX-License-Identifier: MIT */
/* Deriving PSI trigger parameters from psi rules; see psi-trigger.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "psi-trigger.h"

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
        return v < lo ? lo : v > hi ? hi : v;
}

/* The window closest to the interval that the kernel accepts, never longer than it. */
static uint64_t window_for(int64_t interval_ms, bool privileged)
{
        uint64_t want_us = (uint64_t)interval_ms * 1000u;

        if (privileged)
                return clamp_u64(want_us, PSI_WINDOW_MIN_US, PSI_WINDOW_MAX_US);
        want_us = clamp_u64(want_us, PSI_WINDOW_UNPRIV_STEP_US, PSI_WINDOW_MAX_US);
        return want_us - want_us % PSI_WINDOW_UNPRIV_STEP_US;
}

int psi_trigger_derive(enum psi_kind kind, double threshold_pct, int64_t interval_ms,
                       bool privileged, struct psi_trigger *ret)
{
        uint64_t window_us, stall_us;
        double stall;

        if (kind < 0 || kind >= _PSI_KIND_MAX || interval_ms <= 0 || interval_ms > 86400000)
                return -EINVAL;
        if (!(threshold_pct >= 0.0 && threshold_pct <= 100.0)) /* also rejects NaN */
                return -EINVAL;
        window_us = window_for(interval_ms, privileged);
        stall = ceil((double)window_us * threshold_pct / 100.0);
        stall_us = clamp_u64((uint64_t)stall, 1, window_us);
        *ret = (struct psi_trigger){ .kind = kind, .stall_us = stall_us, .window_us = window_us };
        return 0;
}

int psi_trigger_format(const struct psi_trigger *t, char *buf, size_t size)
{
        static const char *const names[_PSI_KIND_MAX] = { "some", "full" };
        int n;

        if (t->kind < 0 || t->kind >= _PSI_KIND_MAX)
                return -EINVAL;
        n = snprintf(buf, size, "%s %" PRIu64 " %" PRIu64, names[t->kind], t->stall_us,
                     t->window_us);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return n + 1;
}
