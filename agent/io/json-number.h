/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How every JSON output writes a number (docs/json.md): whole values as integers, so int64
 * decoders read byte counts as such (54013952, never 54013952.0).
 */

#include <jansson.h>

/* The "schema" member at the top of every JSON output; docs/json.md says what it covers. */
#define JSON_SCHEMA 1

/* v as an integer when whole and within ±2^53, else as a real. NULL for NaN, infinity or
 * no memory. The caller owns the reference. */
json_t *json_number_of(double v);
