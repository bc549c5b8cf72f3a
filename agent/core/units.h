/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Locale-independent number and unit parsing for policy values (see docs/policy.md):
 * decimals without sign or exponent, sizes in powers of 1024, ratios and percentages.
 * Pure: no I/O, no locale, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A whole string that is one decimal ("15", "2.5"). Returns 0 or -EINVAL. */
int units_parse_number(const char *s, double *ret);

/* A whole non-negative integer below 2^53 ("3"). Returns 0 or -EINVAL. */
int units_parse_uint(const char *s, uint64_t *ret);

/*
 * Sizes: "512MiB", "2GiB", "1G", "1.5 GiB", bare = bytes. K/M/G/T with optional "iB" or "B",
 * any case, are powers of 1024. Returns 0, -EINVAL (syntax) or -ERANGE (above 2^62 bytes).
 */
int units_parse_size(const char *s, uint64_t *ret_bytes);

/* Ratios: "0.92" or "92%" (= 0.92). No range check. Returns 0 or -EINVAL. */
int units_parse_ratio(const char *s, double *ret);

/* Percentages: "5" or "5%" (= 5). No range check. Returns 0 or -EINVAL. */
int units_parse_percent(const char *s, double *ret);

/* Booleans: true/false, yes/no, on/off, 1/0 (lower case). Returns 0 or -EINVAL. */
int units_parse_bool(const char *s, bool *ret);

/* What a duration may look like, for error messages. */
#define UNITS_DURATION_HINT "use 500ms, 1.5s, 90s, 1m30s or 2h; units are ms, s, m and h"

/*
 * Parses a duration into milliseconds: one or more DECIMAL UNIT terms from the largest unit
 * to the smallest, each unit at most once ("1m30s", "1.5s", "90s", "2h", "1s500ms"), or a
 * bare decimal = seconds. Units: h, m, s, ms. The total must be whole milliseconds below
 * 2^53. Returns 0 or -EINVAL ("1min", "30s1m", "0.5ms"). Locale-independent.
 */
int units_parse_duration(const char *s, uint64_t *ret_ms);

/* Formats ms for people and policies alike, parseable back: "1h30m", "1m30.5s", "500ms", "0s". */
void units_format_duration(uint64_t ms, char *buf, size_t size);

/* Formats bytes as the largest exact binary unit, the policy form: "1GiB", "512MiB", "100B". */
void units_format_size(uint64_t bytes, char *buf, size_t size);

/*
 * Formats bytes for people: the largest binary unit that keeps the value at least 1, one
 * decimal when not whole: "51.5 MiB", "1 GiB", "100 B".
 */
void units_format_size_approx(uint64_t bytes, char *buf, size_t size);
