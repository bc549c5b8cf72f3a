/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "release.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

bool release_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        return n > 0 && n <= POLICY_NAME_MAX && strspn(s, NAME_CHARS) == n;
}

int release_key(const char *batch, const char *release, unsigned generation, const char *action,
                char ret[RELEASE_KEY_MAX + 1])
{
        if (!release_valid(batch) || !release_valid(release) || !release_valid(action))
                return -EINVAL;
        snprintf(ret, RELEASE_KEY_MAX + 1, "%s%c%s%c%u%c%s", batch, RELEASE_KEY_SEP, release,
                 RELEASE_KEY_SEP, generation, RELEASE_KEY_SEP, action);
        return 0;
}

void release_from_sha256(const unsigned char digest[32], char ret[RELEASE_HASH_HEX + 1])
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < RELEASE_HASH_HEX / 2; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 0xf];
        }
        ret[RELEASE_HASH_HEX] = '\0';
}
