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

void cli_print_policy_diags(const struct policy_diags *diags, const char *path)
{
        char line[1024];

        for (size_t i = 0; i < diags->n; i++)
                fprintf(stderr, "%s\n", policy_diag_format(&diags->v[i], path, line, sizeof(line)));
        if (diags->n_dropped > 0)
                fprintf(stderr, "%s: %zu more problems not shown\n", path, diags->n_dropped);
}
