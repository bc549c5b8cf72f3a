/* SPDX-License-Identifier: MIT */
/*
 * Parsers for cgroupfs memory files, and the sum of several cgroups' figures: pure functions
 * from buffers and values to values. The kernel's
 * formats are in Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/memory.rst; anything
 * else (empty, garbage, signs, overflow) is rejected rather than guessed at.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cgroup-parse.h"

/* Strictly decimal digits, at least one; no sign, no spaces. */
static int parse_digits(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = v;
        return 0;
}

/* The length of buf without one trailing newline. */
static size_t chomp(const char *buf, size_t len)
{
        return len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
}

int cgroup_parse_u64(const char *buf, size_t len, uint64_t *ret)
{
        return parse_digits(buf, chomp(buf, len), ret);
}

int cgroup_parse_limit(const char *buf, size_t len, bool *ret_unlimited, uint64_t *ret_bytes)
{
        size_t n = chomp(buf, len);
        uint64_t v;
        int r;

        if (n == 3 && memcmp(buf, "max", 3) == 0) {
                *ret_unlimited = true;
                *ret_bytes = 0;
                return 0;
        }
        r = parse_digits(buf, n, &v);
        if (r < 0)
                return r;
        *ret_unlimited = v >= CGROUP_UNLIMITED_MIN;
        *ret_bytes = *ret_unlimited ? 0 : v;
        return 0;
}

/* Iterates over lines: sets line and n to the next one (without '\n'); false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
        const char *nl;

        if (*pos >= len)
                return false;
        *line = buf + *pos;
        nl = memchr(*line, '\n', len - *pos);
        *n = nl ? (size_t)(nl - *line) : len - *pos;
        *pos += *n + 1;
        return true;
}

/* Splits "key value" at its single space; false when there is none. */
static bool split_key(const char *line, size_t n, size_t *key_len)
{
        const char *sp = memchr(line, ' ', n);

        if (!sp || sp == line)
                return false;
        *key_len = (size_t)(sp - line);
        return true;
}

static bool key_is(const char *line, size_t key_len, const char *key)
{
        return strlen(key) == key_len && memcmp(line, key, key_len) == 0;
}

/*
 * Finds each of keys[] in a flat-keyed file ("key value" lines). Lines with other keys are
 * skipped unchecked, so new kernel fields never break us; wanted keys must have a clean
 * number and appear once before the last of them. Parsing stops at the line that completes
 * the set: the lines after it are not looked at (memory.stat has ~50 lines, the sampler
 * wants 2 of them, every tick).
 */
static int parse_keyed(const char *buf, size_t len, const char *const *keys, size_t n_keys,
                       bool *found, uint64_t *values)
{
        const char *line;
        size_t pos = 0, n, key_len, n_found = 0;
        int r;

        for (size_t k = 0; k < n_keys; k++)
                found[k] = false;
        while (next_line(buf, len, &pos, &line, &n)) {
                if (n == 0)
                        continue;
                if (!split_key(line, n, &key_len))
                        return -EINVAL;
                for (size_t k = 0; k < n_keys; k++) {
                        if (!key_is(line, key_len, keys[k]))
                                continue;
                        if (found[k])
                                return -EINVAL;
                        r = parse_digits(line + key_len + 1, n - key_len - 1, &values[k]);
                        if (r < 0)
                                return r;
                        found[k] = true;
                        if (++n_found == n_keys)
                                return 0;
                }
        }
        return 0;
}

int cgroup_parse_stat(const char *buf, size_t len, enum cgroup_version v, struct mem_sample *m)
{
        static const char *const v2_keys[] = { "inactive_file", "anon" };
        static const char *const v1_keys[] = { "total_inactive_file", "total_rss" };
        bool found[2];
        uint64_t values[2];
        int r;

        r = parse_keyed(buf, len, v == CGROUP_V1 ? v1_keys : v2_keys, 2, found, values);
        if (r < 0)
                return r;
        m->has_inactive_file = found[0];
        m->inactive_file_bytes = found[0] ? values[0] : 0;
        m->has_anon = found[1];
        m->anon_bytes = found[1] ? values[1] : 0;
        return 0;
}

int cgroup_parse_oom_kill(const char *buf, size_t len, uint64_t *ret)
{
        static const char *const keys[] = { "oom_kill" };
        bool found;
        uint64_t value;
        int r;

        r = parse_keyed(buf, len, keys, 1, &found, &value);
        if (r < 0)
                return r;
        if (!found)
                return -ENODATA;
        *ret = value;
        return 0;
}

/* A PSI average: "12.34" (percent, 0..100, at most 6 decimals), locale-independent. */
static int parse_pct(const char *s, size_t n, double *ret)
{
        const char *dot = memchr(s, '.', n);
        uint64_t whole, frac = 0;
        size_t wn = dot ? (size_t)(dot - s) : n, fn = dot ? n - wn - 1 : 0;
        double scale = 1;
        int r;

        if ((r = parse_digits(s, wn, &whole)) < 0)
                return r;
        if (dot && (fn == 0 || fn > 6))
                return -EINVAL;
        if (dot && (r = parse_digits(dot + 1, fn, &frac)) < 0)
                return r;
        for (size_t i = 0; i < fn; i++)
                scale *= 10;
        if (whole > 100 || (whole == 100 && frac > 0))
                return -ERANGE;
        *ret = (double)whole + (double)frac / scale;
        return 0;
}

/* Finds "name=" among the space-separated fields of a PSI line; sets the value span. */
static bool psi_field(const char *line, size_t n, const char *name, const char **val,
                      size_t *val_len)
{
        size_t name_len = strlen(name), pos = 0;

        while (pos < n) {
                const char *f = line + pos, *sp = memchr(f, ' ', n - pos);
                size_t fl = sp ? (size_t)(sp - f) : n - pos;

                if (fl > name_len && memcmp(f, name, name_len) == 0 && f[name_len] == '=') {
                        *val = f + name_len + 1;
                        *val_len = fl - name_len - 1;
                        return true;
                }
                pos += fl + 1;
        }
        return false;
}

struct psi_line {
        bool found;
        double avg10_pct;
        uint64_t total_us;
};

static int parse_psi_line(const char *line, size_t n, struct psi_line *ret)
{
        const char *v;
        size_t vn;
        int r;

        if (ret->found)
                return -EINVAL;
        if (!psi_field(line, n, "avg10", &v, &vn))
                return -EINVAL;
        if ((r = parse_pct(v, vn, &ret->avg10_pct)) < 0)
                return r;
        if (!psi_field(line, n, "total", &v, &vn))
                return -EINVAL;
        if ((r = parse_digits(v, vn, &ret->total_us)) < 0)
                return r;
        ret->found = true;
        return 0;
}

int cgroup_parse_psi(const char *buf, size_t len, struct mem_sample *m)
{
        struct psi_line some = { 0 }, full = { 0 };
        const char *line;
        size_t pos = 0, n, key_len;
        int r;

        while (next_line(buf, len, &pos, &line, &n)) {
                if (n == 0)
                        continue;
                if (!split_key(line, n, &key_len))
                        return -EINVAL;
                if (key_is(line, key_len, "some"))
                        r = parse_psi_line(line + 5, n - 5, &some);
                else if (key_is(line, key_len, "full"))
                        r = parse_psi_line(line + 5, n - 5, &full);
                else
                        r = -EINVAL;
                if (r < 0)
                        return r;
        }
        if (!some.found && !full.found)
                return -ENODATA;
        m->has_psi_some = some.found;
        m->psi_some_avg10_pct = some.avg10_pct;
        m->psi_some_total_us = some.total_us;
        m->has_psi_full = full.found;
        m->psi_full_avg10_pct = full.avg10_pct;
        m->psi_full_total_us = full.total_us;
        return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void cgroup_sample_add(struct mem_sample *acc, const struct mem_sample *m)
{
#define SUM(has, field)                                                    \
        do {                                                               \
                acc->has = acc->has && m->has;                             \
                acc->field = acc->has ? add_sat(acc->field, m->field) : 0; \
        } while (0)
        SUM(has_current, current_bytes);
        SUM(has_inactive_file, inactive_file_bytes);
        SUM(has_anon, anon_bytes);
        SUM(has_oom_kill, oom_kill);
        SUM(has_failcnt, failcnt);
        SUM(has_psi_some, psi_some_total_us);
        SUM(has_psi_full, psi_full_total_us);
#undef SUM
        acc->psi_some_avg10_pct =
                acc->has_psi_some ? fmax(acc->psi_some_avg10_pct, m->psi_some_avg10_pct) : 0;
        acc->psi_full_avg10_pct =
                acc->has_psi_full ? fmax(acc->psi_full_avg10_pct, m->psi_full_avg10_pct) : 0;
        acc->has_max = acc->has_max && m->has_max;
        acc->max_unlimited = acc->has_max && (acc->max_unlimited || m->max_unlimited);
        acc->max_bytes =
                acc->has_max && !acc->max_unlimited ? add_sat(acc->max_bytes, m->max_bytes) : 0;
}
