/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Idempotency-Key every node derives alike (docs/operations.md "Delivery semantics"):
 * from the batch, its release, the reset generation and the action, and nothing else, so
 * every agent that trips the same release sends the same key and a deduplicating pipeline
 * acts once.
 */

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define RELEASE_HASH_HEX   16 /* a policy without `release`: this many hex of its SHA-256 */
#define RELEASE_KEY_SEP    ':'
#define RELEASE_GEN_DIGITS 10 /* an unsigned generation in decimal */
/* BATCH:RELEASE:GENERATION:ACTION */
#define RELEASE_KEY_MAX (3 * POLICY_NAME_MAX + RELEASE_GEN_DIGITS + 3)

/*
 * Writes the Idempotency-Key "BATCH:RELEASE:GENERATION:ACTION" (generation in decimal) into
 * ret. batch, release and action are names ([A-Za-z0-9._-]{1,64}), which cannot hold the
 * ':' separator, so distinct inputs give distinct keys. Returns 0, or -EINVAL for a bad name.
 */
int release_key(const char *batch, const char *release, unsigned generation, const char *action,
                char ret[RELEASE_KEY_MAX + 1]);

/*
 * The release of a policy file without `release`: the first RELEASE_HASH_HEX lower-case hex
 * digits of the SHA-256 digest of its bytes (what `sha256sum FILE | cut -c1-16` prints).
 */
void release_from_sha256(const unsigned char digest[32], char ret[RELEASE_HASH_HEX + 1]);

/* True for a release: a name, [A-Za-z0-9._-]{1,64}. */
bool release_valid(const char *s);
