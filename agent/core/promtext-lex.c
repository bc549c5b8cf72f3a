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

#define LETTER                                                                                \
        (PROMTEXT_CLASS_LABEL_START | PROMTEXT_CLASS_LABEL_CHAR | PROMTEXT_CLASS_NAME_START | \
         PROMTEXT_CLASS_NAME_CHAR)
#define DIGIT (PROMTEXT_CLASS_LABEL_CHAR | PROMTEXT_CLASS_NAME_CHAR)
#define COLON (PROMTEXT_CLASS_NAME_START | PROMTEXT_CLASS_NAME_CHAR)

const uint8_t promtext_class[256] = {
        ['0' ... '9'] = DIGIT, ['a' ... 'z'] = LETTER, ['A' ... 'Z'] = LETTER,
        ['_'] = LETTER,        [':'] = COLON,
};

#define EXP_SATURATE 100000 /* beyond this every value is 0 or an overflow */

struct decimal {
        bool negative;
        const char *int_p, *frac_p; /* the digits before and after the point */
        size_t int_len, frac_len;
        int64_t exponent; /* the explicit e/E exponent */
};

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* NaN, Inf and Infinity as Go accepts them: any case, sign only on the infinities. */
static bool parse_special(const char *s, size_t len, double *ret)
{
        bool signed_ = len > 1 && (s[0] == '+' || s[0] == '-');
        double sign = 1.0;
        char c;

        if (len < 3)
                return false;
        c = s[signed_ ? 1 : 0];
        if (c != 'i' && c != 'I' && c != 'n' && c != 'N')
                return false; /* the common case: a digit */
        if (signed_) {
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

/* [+-] digits [. digits] [e [+-] digits], at least one mantissa digit. Only finds the parts:
 * most values are merely checked, never converted. */
static int scan_decimal(const char *s, const char *end, struct decimal *d)
{
        const char *p = s;
        int64_t e = 0, e_sign = 1;

        if (p < end && (*p == '+' || *p == '-'))
                d->negative = *p++ == '-';
        for (d->int_p = p; p < end && is_digit(*p);)
                p++;
        d->int_len = (size_t)(p - d->int_p);
        d->frac_p = p;
        if (p < end && *p == '.')
                for (d->frac_p = ++p; p < end && is_digit(*p);)
                        p++;
        d->frac_len = (size_t)(p - d->frac_p);
        if (d->int_len + d->frac_len == 0)
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
        d->exponent = e_sign * e;
        return 0;
}

/* The i-th digit of the mantissa, counting the integer part then the fraction. */
static char digit_at(const struct decimal *d, size_t i)
{
        return i < d->int_len ? d->int_p[i] : d->frac_p[i - d->int_len];
}

/* The slow path: all significant digits, no radix character, through strtod. */
static int convert_slow(const struct decimal *d, double *ret)
{
        char buf[PROMTEXT_NUMBER_MAX + 32];
        size_t n = 0;
        char *endp;
        double v;

        if (d->negative)
                buf[n++] = '-';
        for (size_t i = 0; i < d->int_len + d->frac_len; i++)
                buf[n++] = digit_at(d, i);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%lld",
                              (long long)(d->exponent - (int64_t)d->frac_len));
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
        uint64_t mantissa = 0;
        size_t n_digits = 0;
        int64_t e = d->exponent - (int64_t)d->frac_len;
        bool inexact = false;
        double v;

        for (size_t i = 0; i < d->int_len + d->frac_len; i++) {
                char c = digit_at(d, i);

                if (n_digits == 0 && c == '0')
                        continue;
                if (++n_digits <= 19)
                        mantissa = mantissa * 10 + (uint64_t)(c - '0');
                else
                        e++, inexact |= c != '0'; /* the digit is dropped from the mantissa */
        }
        if (inexact || mantissa > (UINT64_C(1) << 53) || e > 22 || e < -22)
                return n_digits == 0 ? (*ret = d->negative ? -0.0 : 0.0, 0) : convert_slow(d, ret);
        /* Both operands are exact doubles, so the one rounding is the correct one. */
        v = (double)mantissa;
        v = e >= 0 ? v * pow10[e] : v / pow10[-e];
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
        /* Below 10^300 nothing overflows: a value that is only checked need not be converted. */
        if (!ret_value && (int64_t)d.int_len + d.exponent <= 300)
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
                unsigned c;
                size_t n;
                uint32_t cp, min;

                while (end - p >= 8) { /* ASCII, eight bytes at a time */
                        uint64_t w;

                        memcpy(&w, p, 8);
                        if (w & UINT64_C(0x8080808080808080))
                                break;
                        p += 8;
                }
                if (p == end)
                        break;
                c = *p++;
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
