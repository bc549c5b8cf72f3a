/* SPDX-License-Identifier: MIT */
/*
 * The exposition parser's lexical helpers: locale-independent numbers and UTF-8 checks.
 *
 * Why not plain strtod: it honours LC_NUMERIC, so under a locale whose radix character is ','
 * "0.5" would stop at the '.'. strtod_l with a C locale would need a global locale_t created
 * once (an allocation and a global in a pure module). Instead the token is checked by our own
 * scanner, which also yields its significant digits and decimal exponent. Most values then take
 * the exact fast path (digits as an integer <= 2^53 and a power of ten <= 10^22: both exact
 * doubles, so one IEEE multiplication or division rounds correctly). The rest are rewritten as
 * "<digits>e<exponent>" with no radix character at all, which glibc's correctly rounded strtod
 * reads identically in every locale.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promtext-internal.h"

#define EXP_SATURATE 100000 /* beyond this every value is 0 or an overflow */

struct decimal {
        bool negative;
        uint64_t mantissa;  /* the first 19 significant digits */
        size_t n_digits;    /* significant digits, leading zeros excluded */
        bool inexact;       /* a non-zero digit beyond the 19th */
        int64_t exponent;   /* value = digits * 10^exponent (digits as an integer) */
        const char *digits; /* first significant digit, or NULL if the value is 0 */
        const char *end;    /* end of the mantissa part (before e/E) */
};

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* NaN, Inf and Infinity as Go accepts them: any case, sign only on the infinities. */
static bool parse_special(const char *s, size_t len, double *ret)
{
        double sign = 1.0;

        if (len > 0 && (s[0] == '+' || s[0] == '-')) {
                sign = s[0] == '-' ? -1.0 : 1.0;
                s++, len--;
        } else if (len == 3 && strncasecmp(s, "nan", 3) == 0) {
                *ret = NAN;
                return true;
        }
        if ((len == 3 && strncasecmp(s, "inf", 3) == 0) ||
            (len == 8 && strncasecmp(s, "infinity", 8) == 0)) {
                *ret = sign * INFINITY;
                return true;
        }
        return false;
}

static void add_digit(struct decimal *d, const char *p, bool fraction)
{
        if (fraction)
                d->exponent--;
        if (!d->digits && *p == '0')
                return;
        if (!d->digits)
                d->digits = p;
        d->n_digits++;
        if (d->n_digits <= 19) {
                d->mantissa = d->mantissa * 10 + (uint64_t)(*p - '0');
                return;
        }
        d->exponent++; /* the digit is dropped from the mantissa */
        if (*p != '0')
                d->inexact = true;
}

/* [+-] digits [. digits] [e [+-] digits], at least one mantissa digit. */
static int scan_decimal(const char *s, const char *end, struct decimal *d)
{
        const char *p = s;
        size_t n_mantissa = 0;
        int64_t e = 0, e_sign = 1;

        if (p < end && (*p == '+' || *p == '-'))
                d->negative = *p++ == '-';
        for (; p < end && is_digit(*p); p++, n_mantissa++)
                add_digit(d, p, false);
        if (p < end && *p == '.')
                for (p++; p < end && is_digit(*p); p++, n_mantissa++)
                        add_digit(d, p, true);
        d->end = p;
        if (n_mantissa == 0)
                return -EINVAL;
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        e_sign = *p++ == '-' ? -1 : 1;
                if (p == end || !is_digit(*p))
                        return -EINVAL;
                for (; p < end && is_digit(*p); p++)
                        if (e < EXP_SATURATE)
                                e = e * 10 + (*p - '0');
        }
        if (p != end)
                return -EINVAL;
        d->exponent += e_sign * e;
        return 0;
}

/* The slow path: all significant digits, no radix character, through strtod. */
static int convert_slow(const struct decimal *d, double *ret)
{
        char buf[PROMTEXT_NUMBER_MAX + 32];
        int64_t e = d->exponent - (int64_t)(d->n_digits > 19 ? d->n_digits - 19 : 0);
        size_t n = 0;
        char *endp;
        double v;

        if (d->negative)
                buf[n++] = '-';
        for (const char *p = d->digits; p < d->end; p++)
                if (is_digit(*p))
                        buf[n++] = *p;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%lld", (long long)e);
        errno = 0;
        v = strtod(buf, &endp);
        if (endp != buf + n)
                return -EINVAL;
        if (errno == ERANGE && isinf(v))
                return -EINVAL; /* Go reports overflow as an error */
        *ret = v;
        return 0;
}

static int convert(const struct decimal *d, double *ret)
{
        static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
        double v;

        if (!d->digits) {
                *ret = d->negative ? -0.0 : 0.0;
                return 0;
        }
        if (d->inexact || d->mantissa > (UINT64_C(1) << 53) || d->exponent > 22 ||
            d->exponent < -22)
                return convert_slow(d, ret);
        /* Both operands are exact doubles, so the one rounding is the correct one. */
        v = (double)d->mantissa;
        v = d->exponent >= 0 ? v * pow10[d->exponent] : v / pow10[-d->exponent];
        *ret = d->negative ? -v : v;
        return 0;
}

int promtext_number_float(const char *s, size_t len, double *ret_value)
{
        struct decimal d = { 0 };
        double v;
        int r;

        if (len == 0 || len > PROMTEXT_NUMBER_MAX)
                return -EINVAL;
        if (parse_special(s, len, &v)) {
                if (ret_value)
                        *ret_value = v;
                return 0;
        }
        r = scan_decimal(s, s + len, &d);
        if (r < 0)
                return r;
        /* Only a value with more than 300 integer digits can overflow: convert to find out. */
        if (!ret_value && (!d.digits || d.exponent + (int64_t)d.n_digits < 300))
                return 0;
        r = convert(&d, &v);
        if (r < 0)
                return r;
        if (ret_value)
                *ret_value = v;
        return 0;
}

int promtext_number_int64(const char *s, size_t len, int64_t *ret)
{
        const char *p = s, *end = s + len;
        bool negative = false;
        uint64_t v = 0, limit;

        if (p < end && (*p == '+' || *p == '-'))
                negative = *p++ == '-';
        if (p == end)
                return -EINVAL;
        limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; p < end; p++) {
                if (!is_digit(*p))
                        return -EINVAL;
                if (v > (limit - (uint64_t)(*p - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        *ret = negative ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

bool promtext_utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                unsigned c = *p++;
                size_t n;
                uint32_t cp, min;

                if (c < 0x80)
                        continue;
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f, min = 0x80;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f, min = 0x800;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07, min = 0x10000;
                else
                        return false;
                if ((size_t)(end - p) < n)
                        return false;
                for (; n > 0; n--, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (*p & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
        }
        return true;
}

size_t promtext_utf8_runes(const char *s, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        n++;
        return n;
}
