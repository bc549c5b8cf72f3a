/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared bits of the command-line front ends. */

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

#ifndef OOMBREAKER_VERSION
#define OOMBREAKER_VERSION "0.0.0"
#endif

/* Prints "oombreaker VERSION" to stdout. */
void cli_print_version(void);

/*
 * Handles --help/-h and --version/-V anywhere in argv[1..]: prints usage (to stdout) or the
 * version and returns true, in which case the caller exits 0. usage is the full help text.
 */
bool cli_help_or_version(int argc, char **argv, const char *usage);

/* Prints a policy load's diagnostics to stderr, one "PATH:LINE: message" each. */
void cli_print_policy_diags(const struct policy_diags *diags, const char *path);
