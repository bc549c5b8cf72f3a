/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What status, wait, reset and promote share: their options and talking to the running
 * daemon over its control socket.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "state.h"

#define CTL_SOCKET_DEFAULT    "/run/oombreaker/control.sock"
#define CTL_STATE_DIR_DEFAULT STATE_DIR_DEFAULT
#define CTL_CALL_TIMEOUT_MS   5000

struct ctl_opts {
        const char *cmd; /* argv[0]: status, wait, reset or promote */
        const char *socket;
        const char *state_dir;
        const char *batch;
        bool json;
        uint64_t bake_ms;
        uint64_t timeout_ms; /* 0 = none */
        const char *reason;  /* trip --reason; sent when set */
        const char *release; /* reset --release; sent when set */
};

enum {
        CTL_OPT_SOCKET = 0x100,
        CTL_OPT_STATE_DIR,
        CTL_OPT_JSON,
        CTL_OPT_BAKE,
        CTL_OPT_TIMEOUT,
        CTL_OPT_REASON,
        CTL_OPT_RELEASE,
};

/* The options all four commands take (struct option entries). */
/* clang-format off */
#define CTL_OPTION_SOCKET    { "socket", required_argument, NULL, CTL_OPT_SOCKET }
#define CTL_OPTION_STATE_DIR { "state-dir", required_argument, NULL, CTL_OPT_STATE_DIR }
/* clang-format on */

/*
 * Parses a command's argv with cli_parse() and its options (of the CTL_OPT_* ids), then
 * one BATCH operand (required or optional). Returns 1 to go on, 0 when --help or --version
 * was answered, or -EINVAL (said on stderr).
 */
int ctl_parse(int argc, char **argv, const char *usage, const struct option *options,
              bool batch_required, struct ctl_opts *ret);

/* Sends {"cmd": cmd, "batch": o->batch} (and "reason", "release" when set) and waits at most
 * timeout_ms for *ret (caller frees). Returns 0 or -errno (control_call()'s). */
int ctl_call_within(const struct ctl_opts *o, const char *cmd, int timeout_ms, json_t **ret);

/* ctl_call_within() with CTL_CALL_TIMEOUT_MS. */
int ctl_call(const struct ctl_opts *o, const char *cmd, json_t **ret);

/* The exit code for a failed ctl_call(): EXIT_UNREACHABLE when no daemon answers,
 * EXIT_CONFIG when one is there but refuses us (permissions). */
int ctl_call_error_exit(int r);

/*
 * One batch's state file in dir as a status object (with "source": "state file"), read
 * without touching it. NULL when it is missing or corrupt, said on stderr for cmd (no word
 * when cmd is NULL).
 */
json_t *ctl_state_file_json(const char *cmd, const char *dir, const char *batch);

/* Says on stderr why talking to the daemon failed (r from ctl_call()). */
void ctl_explain_call_error(const char *cmd, const struct ctl_opts *o, int r);

/* A batch's "phase", or "unknown". */
const char *ctl_phase_of(json_t *batch);

/* EXIT_TRIPPED, EXIT_INCONCLUSIVE or EXIT_OK for a phase name. */
int ctl_exit_code_for_phase(const char *phase);

/* Prints a trip object as one "  trip: ..." line; nothing when trip is not an object. */
void ctl_print_trip(json_t *trip);

/*
 * reset and promote: asks the daemon to change BATCH's phase (argv[0] is the command), with
 * options (NULL: --socket and --state-dir). Prints "BATCH: PHASE" and, for a reset, the
 * release and generation the next trip's keys use.
 */
int ctl_change_phase(int argc, char **argv, const char *usage, const struct option *options);
