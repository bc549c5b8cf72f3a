/* SPDX-License-Identifier: MIT */
#pragma once

/* SHA-256 (FIPS 180-4), for the release of a policy file without `release` (core/release.h):
 * one call over bytes in memory. Not for secrets: nothing here is constant-time hardened. */

#include <stddef.h>

#define SHA256_DIGEST_SIZE 32

/* The SHA-256 digest of len bytes at data (data may be NULL when len is 0). */
void sha256(const void *data, size_t len, unsigned char ret[SHA256_DIGEST_SIZE]);
