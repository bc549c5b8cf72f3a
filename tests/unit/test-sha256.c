/* SPDX-License-Identifier: MIT */
/* core/sha256 against the FIPS 180-2 example vectors (one million "a" included) and at the
 * padding's edges: 55, 56 and 64 bytes (those digests as sha256sum prints them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void hex(const unsigned char d[SHA256_DIGEST_SIZE], char ret[2 * SHA256_DIGEST_SIZE + 1])
{
        for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
                snprintf(ret + 2 * i, 3, "%02x", d[i]);
}

struct vector {
        const char *in;
        size_t repeat; /* in, this many times */
        const char *want;
};

static void test_vectors(void **state)
{
        static const struct vector cases[] = {
                { "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                /* 56 bytes: the length no longer fits the first block */
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
                { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                  "klmnopqrlmnopqrsmnopqrstnopqrstu",
                  1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
                { "a", 1000000,
                  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
                /* 64 and 55 bytes: a whole block, and the longest single-block message */
                { "a", 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
                { "a", 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct vector *c = &cases[i];
                size_t n = strlen(c->in), len = n * c->repeat;
                char *buf = malloc(len + 1), got[2 * SHA256_DIGEST_SIZE + 1];
                unsigned char d[SHA256_DIGEST_SIZE];

                assert_non_null(buf);
                for (size_t r = 0; r < c->repeat; r++)
                        memcpy(buf + r * n, c->in, n);
                sha256(buf, len, d);
                hex(d, got);
                if (strcmp(got, c->want) != 0)
                        fail_msg("case %zu (%zu bytes): %s, want %s", i, len, got, c->want);
                free(buf);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
