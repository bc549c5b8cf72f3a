/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Subcommands. Each takes argv with argv[0] = the subcommand's name, handles its own
 * --help, and returns the process exit code (see enum exit_code).
 */

enum exit_code {
        EXIT_OK = 0,           /* healthy, valid, done */
        EXIT_CONFIG = 1,       /* usage or configuration error */
        EXIT_TRIPPED = 2,      /* tripped or failed */
        EXIT_INCONCLUSIVE = 3, /* no verdict: inputs missing */
        EXIT_UNREACHABLE = 4,  /* no daemon answers (wait: it stayed down) */
        EXIT_TIMEOUT = 124,    /* wait --timeout ran out */
};

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);
/* wait --prometheus: the fleet gate, with wait's usage text. */
int cmd_wait_fleet(int argc, char **argv, const char *usage);
int cmd_reset(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_trip(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_sample(int argc, char **argv);
