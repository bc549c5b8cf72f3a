/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: any bytes as a state file. Whatever parses must format, and parse
 * back to the same text; no action offered as next is ever done.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct state *s = NULL, *back = NULL;
        char why[STATE_ERROR_MAX], *text = NULL, *again = NULL;
        struct state_action *a;

        if (size > STATE_FILE_MAX)
                return 0;
        if (state_parse((const char *)data, size, "v1.0.1-a", &s, why, sizeof(why)) < 0)
                return 0;
        a = state_next_pending(s);
        if (a && a->status != STATE_ACTION_PENDING)
                abort();
        if (state_format(s, &text) < 0)
                abort();
        if (state_parse(text, strlen(text), "v1.0.1-a", &back, why, sizeof(why)) < 0)
                abort();
        if (state_format(back, &again) < 0 || strcmp(text, again) != 0)
                abort();
        free(text);
        free(again);
        state_free(s);
        state_free(back);
        return 0;
}
