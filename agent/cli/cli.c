/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_print_version(void)
{
        printf("oombreaker %s\n", OOMBREAKER_VERSION);
}

bool cli_help_or_version(int argc, char **argv, const char *usage)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(usage, stdout);
                        return true;
                }
                if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
                        cli_print_version();
                        return true;
                }
        }
        return false;
}
