/* SPDX-License-Identifier: MIT */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util.h"

struct command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
        { "run", cmd_run, "run the agent (the systemd service)" },
        { "check", cmd_check, "FILE...  validate policy files" },
        { "sample", cmd_sample, "FILE [--json]  one sample of every target now" },
        { "replay", cmd_replay, "FILE --trace T.jsonl  what a policy decides on a recorded trace" },
        { "status", cmd_status, "[BATCH] [--json]  verdict, streaks, last values, trip reason" },
        { "wait", cmd_wait, "BATCH [--bake DUR] [--timeout DUR]  the pipeline gate" },
        { "reset", cmd_reset, "BATCH  re-arm a batch" },
        { "promote", cmd_promote, "BATCH  stop watching a healthy batch" },
        { "trip", cmd_trip, "BATCH --reason TEXT  trip a batch by hand" },
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: oombreaker COMMAND [OPTIONS]\n\n"
                "Guards canary releases against memory blow-ups: samples cgroup memory and\n"
                "runtime GC statistics, and cuts traffic then rolls back when a policy trips.\n\n"
                "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nRun 'oombreaker COMMAND --help' for a command's options.\n"
                   "Exit codes: 0 ok, 1 usage or configuration error, 2 tripped, 3 inconclusive,\n"
                   "124 timed out.\n");
}

int main(int argc, char **argv)
{
        /* Numbers in files and on the wire are never locale-dependent. */
        setlocale(LC_ALL, "C");

        if (argc < 2) {
                usage(stderr);
                return EXIT_CONFIG;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
                cli_print_version();
                return EXIT_OK;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "oombreaker: unknown command '%s' (see 'oombreaker --help')\n", argv[1]);
        return EXIT_CONFIG;
}
