/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any text through the policy parser, with the file-mode checks off. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy-load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;

        if (size > 64 * 1024)
                return 0;
        /* The exact bytes, NULs included: the parser takes a length, not a C string. */
        if (policy_parse_text((const char *)data, size, "fuzz.ini", POLICY_LOAD_NO_MODE_CHECKS, &p,
                              &diags) == 0 &&
            (p->n_targets == 0 || p->n_rules == 0))
                abort(); /* a valid policy always has a target and a rule */
        policy_free(p);
        policy_diags_clear(&diags);
        return 0;
}
