/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a "show servers state" reply and as a server name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), cmd[HAPROXY_COMMAND_MAX + 1];
        unsigned admin, op;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (haproxy_parse_server_state(text, "app", "canary", &admin, &op) == 0 &&
            (admin > 0xffff || op > 0xffff))
                abort();
        /* A name that formats never smuggles a second command or line into the request. */
        if (haproxy_format_command(HAPROXY_STATE_MAINT, text, cmd, sizeof(cmd)) >= 0 &&
            strpbrk(cmd, ";\n\r"))
                abort();
        free(text);
        return 0;
}
