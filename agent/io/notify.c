/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

/* sd_notify() returns > 0 when sent; collapse it to 1 so callers see one convention. */
static int send_state(const char *state)
{
        int r = sd_notify(0, state);

        return r > 0 ? 1 : r;
}

int notify_ready(void)
{
        return send_state("READY=1");
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_prefix_len(const char *s, size_t max)
{
        size_t n = strnlen(s, max + 1);

        if (n <= max)
                return n;
        n = max;
        /* Back off over continuation bytes (10xxxxxx) to the start of the cut sequence. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        return n;
}

int notify_status(const char *line)
{
        char state[sizeof("STATUS=") + NOTIFY_STATUS_MAX];
        size_t prefix = strlen("STATUS="), n;

        if (!line)
                return -EINVAL;
        n = utf8_prefix_len(line, NOTIFY_STATUS_MAX);
        memcpy(state, "STATUS=", prefix);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)line[i];

                state[prefix + i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
        }
        state[prefix + n] = '\0';
        return send_state(state);
}

int notify_watchdog(void)
{
        uint64_t usec;
        int r = sd_watchdog_enabled(0, &usec);

        if (r <= 0)
                return r;
        return send_state("WATCHDOG=1");
}

int notify_reloading(void)
{
        char state[sizeof("RELOADING=1\nMONOTONIC_USEC=") + 20];
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return -errno;
        snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
                 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
        return send_state(state);
}

int notify_stopping(void)
{
        return send_state("STOPPING=1");
}

int notify_watchdog_usec(uint64_t *ret_usec)
{
        uint64_t usec = 0;
        int r = sd_watchdog_enabled(0, &usec);

        if (r < 0)
                return r;
        *ret_usec = r > 0 ? usec : 0;
        return r > 0 ? 1 : 0;
}
