/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any text through the policy parser, with the file-mode checks off. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        char *text;

        if (size > 64 * 1024)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (policy_parse_string(text, "fuzz.ini", POLICY_LOAD_NO_MODE_CHECKS, &p, &diags) == 0 &&
            (p->n_targets == 0 || p->n_rules == 0))
                abort(); /* a valid policy always has a target and a rule */
        policy_free(p);
        policy_diags_clear(&diags);
        free(text);
        return 0;
}
