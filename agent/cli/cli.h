/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared bits of the command-line front ends: the one argument parser, version, diagnostics. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

#ifndef OOMBREAKER_VERSION
#define OOMBREAKER_VERSION "0.0.0"
#endif

/* Prints "oombreaker VERSION" to stdout. */
void cli_print_version(void);

/* Takes one option: id is its struct option .val, arg its argument (NULL if it takes none).
 * Returns 0, or < 0 to stop the parse (after printing why to stderr). */
typedef int (*cli_option_fn)(int id, const char *arg, void *userdata);

/*
 * Parses a command's argv (argv[0] = the command's name) with getopt_long and the command's
 * long options (no short ones; each .val a distinct id, .flag NULL, ending in {}).
 * --help/-h or --version/-V anywhere prints usage or the version to stdout and returns 0:
 * the command exits 0. Otherwise calls set() for each option in order and returns the index
 * of the first operand: the operands are argv[r..argc), in order (getopt moves them behind
 * the options; "--" ends the options). An unknown option or a missing argument is reported
 * on stderr; then, or when set() fails, returns -EINVAL.
 */
int cli_parse(int argc, char **argv, const char *usage, const struct option *options,
              cli_option_fn set, void *userdata);

/* Prints a policy load's diagnostics to stderr, one "PATH:LINE: message" each. */
void cli_print_policy_diags(const struct policy_diags *diags, const char *path);
