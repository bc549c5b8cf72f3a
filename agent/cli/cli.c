/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_print_version(void)
{
        printf("oombreaker %s\n", OOMBREAKER_VERSION);
}

/* --help/-h and --version/-V win wherever they are, even after a bad option. */
static bool help_or_version(int argc, char **argv, const char *usage)
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

/* Says what getopt_long() refused: c is ':' (missing argument) or '?'. */
static void report_bad_option(char **argv, int c)
{
        const char *cmd = argv[0];

        /* Every option is long, so a single character means a short option; for a long one
         * getopt has moved past it, and argv[optind - 1] is the option as given. */
        if (optopt > 0 && optopt < 0x80)
                fprintf(stderr, "oombreaker %s: unknown option '-%c'", cmd, optopt);
        else if (c == ':')
                fprintf(stderr, "oombreaker %s: option '%s' needs an argument", cmd,
                        argv[optind - 1]);
        else
                fprintf(stderr, "oombreaker %s: unknown or misused option '%s'", cmd,
                        argv[optind - 1]);
        fprintf(stderr, " (see 'oombreaker %s --help')\n", cmd);
}

int cli_parse(int argc, char **argv, const char *usage, const struct option *options,
              cli_option_fn set, void *userdata)
{
        int c;

        if (help_or_version(argc, argv, usage))
                return 0;
        optind = 0; /* 0, not 1: also resets getopt's state from an earlier parse */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0) {
                if (c == '?' || c == ':') {
                        report_bad_option(argv, c);
                        return -EINVAL;
                }
                if (set(c, optarg, userdata) < 0)
                        return -EINVAL;
        }
        return optind;
}

void cli_print_policy_diags(const struct policy_diags *diags, const char *path)
{
        char line[1024];

        for (size_t i = 0; i < diags->n; i++)
                fprintf(stderr, "%s\n", policy_diag_format(&diags->v[i], path, line, sizeof(line)));
        if (diags->n_dropped > 0)
                fprintf(stderr, "%s: %zu more problems not shown\n", path, diags->n_dropped);
}
