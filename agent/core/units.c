/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
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

static bool is_letter(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Largest first: a compound duration names them in this order, each at most once. */
static const struct {
        const char *suffix;
        uint64_t ms;
} duration_units[] = { { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 } };

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

void units_format_size_approx(uint64_t bytes, char *buf, size_t size)
{
        static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double)bytes;
        size_t i = 0;

        /* Step up while the value would still read as 1024 or more once rounded. */
        while (i + 1 < ELEMENTSOF(names) && v >= 1023.95) {
                v /= 1024.0;
                i++;
        }
        if (i == 0 || fabs(v - round(v)) < 0.05)
                snprintf(buf, size, "%.0f %s", v, names[i]);
        else
                snprintf(buf, size, "%.1f %s", v, names[i]);
}

/*
 * One term of a duration: DECIMAL UNIT. Units run from largest to smallest, each at most
 * once, so the first unit allowed is the one after the previous term's (*next_unit).
 */
static int take_duration_term(const char **p, size_t *next_unit, double *sum_ms)
{
        const char *end;
        double v;

        if (units_parse_decimal(*p, &end, &v) < 0)
                return -EINVAL;
        for (size_t i = *next_unit; i < ELEMENTSOF(duration_units); i++) {
                size_t n = strlen(duration_units[i].suffix);

                if (strncmp(end, duration_units[i].suffix, n) != 0 || is_letter(end[n]))
                        continue;
                *sum_ms += v * (double)duration_units[i].ms;
                *next_unit = i + 1;
                *p = end + n;
                return 0;
        }
        return -EINVAL;
}

int units_parse_duration(const char *s, uint64_t *ret_ms)
{
        const char *p = s, *end;
        size_t next_unit = 0;
        double sum_ms = 0, v, whole;

        if (!s)
                return -EINVAL;
        /* A bare number is seconds ("90", "1.5"). */
        if (units_parse_decimal(s, &end, &v) == 0 && *end == '\0')
                sum_ms = v * 1000.0;
        else
                do {
                        if (take_duration_term(&p, &next_unit, &sum_ms) < 0)
                                return -EINVAL;
                } while (*p != '\0');
        whole = round(sum_ms);
        /* Whole milliseconds only, and below 2^53 so the double holds it exactly. */
        if (fabs(sum_ms - whole) > 1e-6 || whole >= 9007199254740992.0)
                return -EINVAL;
        *ret_ms = (uint64_t)whole;
        return 0;
}

void units_format_duration(uint64_t ms, char *buf, size_t size)
{
        uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
        char hs[24] = "", ms_[24] = "", ss[32] = "";

        if (ms < 1000) {
                snprintf(buf, size, "%" PRIu64 "%s", ms, ms ? "ms" : "s");
                return;
        }
        if (h)
                snprintf(hs, sizeof(hs), "%" PRIu64 "h", h);
        if (m)
                snprintf(ms_, sizeof(ms_), "%" PRIu64 "m", m);
        if (frac) /* "30.5s": trailing zeros of the milliseconds dropped */
                snprintf(ss, sizeof(ss), "%" PRIu64 ".%.*" PRIu64 "s", s,
                         frac % 100 == 0  ? 1
                         : frac % 10 == 0 ? 2
                                          : 3,
                         frac % 100 == 0  ? frac / 100
                         : frac % 10 == 0 ? frac / 10
                                          : frac);
        else if (s)
                snprintf(ss, sizeof(ss), "%" PRIu64 "s", s);
        snprintf(buf, size, "%s%s%s", hs, ms_, ss);
}
