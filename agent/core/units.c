/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"
#include "util.h"

#define DIGITS_MAX   15 /* significant digits: always exact in a double mantissa */
#define FRACTION_MAX 22 /* 10^22 is the largest power of ten a double holds exactly */

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Appends the digits at *p to the mantissa; returns the count read or -EINVAL on overflow. */
static int take_digits(const char **p, uint64_t *mant, int *significant)
{
        int n = 0;

        for (; is_digit(**p); (*p)++, n++) {
                if (*significant > 0 || **p != '0')
                        (*significant)++;
                if (*significant > DIGITS_MAX)
                        return -EINVAL;
                *mant = *mant * 10 + (uint64_t)(**p - '0');
        }
        return n;
}

/*
 * Parses "DIGITS[.DIGITS]" (at most 15 significant digits) at the start of s. Sets *ret_end
 * to the first character after the number and *ret to its value. Returns 0 or -EINVAL.
 */
static int units_parse_decimal(const char *s, const char **ret_end, double *ret)
{
        const char *p = s;
        uint64_t mant = 0;
        int significant = 0, n_int, n_frac = 0;
        double scale = 1.0;

        n_int = take_digits(&p, &mant, &significant);
        if (n_int <= 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                n_frac = take_digits(&p, &mant, &significant);
                if (n_frac <= 0 || n_frac > FRACTION_MAX)
                        return -EINVAL;
        }
        for (int i = 0; i < n_frac; i++)
                scale *= 10.0;
        *ret_end = p;
        *ret = (double)mant / scale;
        return 0;
}

int units_parse_number(const char *s, double *ret)
{
        const char *end;
        double v;

        if (units_parse_decimal(s, &end, &v) < 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int units_parse_uint(const char *s, uint64_t *ret)
{
        const char *end;
        double v;

        if (units_parse_decimal(s, &end, &v) < 0 || *end != '\0' || strchr(s, '.'))
                return -EINVAL;
        *ret = (uint64_t)v;
        return 0;
}

int units_parse_size(const char *s, uint64_t *ret_bytes)
{
        static const struct {
                const char *suffix;
                int shift;
        } units[] = {
                { "", 0 },     { "b", 0 },   { "k", 10 },   { "kb", 10 },  { "kib", 10 },
                { "m", 20 },   { "mb", 20 }, { "mib", 20 }, { "g", 30 },   { "gb", 30 },
                { "gib", 30 }, { "t", 40 },  { "tb", 40 },  { "tib", 40 },
        };
        const char *end;
        double v;

        if (units_parse_decimal(s, &end, &v) < 0)
                return -EINVAL;
        while (*end == ' ')
                end++;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (strcasecmp(end, units[i].suffix) != 0)
                        continue;
                v = v * (double)(UINT64_C(1) << units[i].shift) + 0.5;
                if (v >= (double)(UINT64_C(1) << 62))
                        return -ERANGE;
                *ret_bytes = (uint64_t)v;
                return 0;
        }
        return -EINVAL;
}

int units_parse_ratio(const char *s, double *ret)
{
        const char *end;
        double v;

        if (units_parse_decimal(s, &end, &v) < 0)
                return -EINVAL;
        if (strcmp(end, "%") == 0)
                v /= 100.0;
        else if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int units_parse_percent(const char *s, double *ret)
{
        const char *end;
        double v;

        if (units_parse_decimal(s, &end, &v) < 0)
                return -EINVAL;
        if (*end != '\0' && strcmp(end, "%") != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int units_parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

void units_format_duration(uint64_t ms, char *buf, size_t size)
{
        if (ms > 0 && ms % 3600000 == 0)
                snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);
        else if (ms > 0 && ms % 60000 == 0)
                snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
        else if (ms > 0 && ms % 1000 == 0)
                snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
        else
                snprintf(buf, size, "%" PRIu64 "ms", ms);
}

void units_format_size(uint64_t bytes, char *buf, size_t size)
{
        static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        size_t i = 0;

        while (i + 1 < ELEMENTSOF(names) && bytes >= 1024 && bytes % 1024 == 0) {
                bytes /= 1024;
                i++;
        }
        snprintf(buf, size, "%" PRIu64 "%s", bytes, names[i]);
}

int units_parse_duration(const char *s, uint64_t *ret_ms)
{
        static const struct {
                const char *suffix;
                uint64_t ms;
        } units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 } };
        uint64_t v = 0;
        const char *p = s;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (strcmp(p, units[i].suffix) != 0)
                        continue;
                if (v > UINT64_MAX / units[i].ms)
                        return -EINVAL;
                *ret_ms = v * units[i].ms;
                return 0;
        }
        return -EINVAL;
}
