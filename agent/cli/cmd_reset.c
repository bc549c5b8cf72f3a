/* SPDX-License-Identifier: MIT */
/* `oombreaker reset BATCH [--release ID]`: re-arms a batch (through the daemon). */
#include "commands.h"
#include "ctl.h"

static const char reset_usage[] =
        "Usage: oombreaker reset BATCH [--release ID] [--socket PATH] [--state-dir DIR]\n\n"
        "Re-arms a batch: clears the latch, the streaks and the trip; OOM kills are counted\n"
        "afresh. The next trip must not reuse the last one's Idempotency-Keys, so a reset\n"
        "counts in the keys' generation, or with --release starts a new rollout attempt whose\n"
        "keys use ID (until the policy's release changes). Reset every node of a batch alike.\n"
        "Only root or members of the control socket's group may reset.\n\n"
        "  --release ID      the release part of the keys from now on (1-64 characters of\n"
        "                    A-Z a-z 0-9 . _ -), generation 0\n"
        "  --socket PATH     the daemon's control socket (default " CTL_SOCKET_DEFAULT ")\n"
        "  --state-dir DIR   accepted like the other commands that talk to the daemon\n";

int cmd_reset(int argc, char **argv)
{
        static const struct option options[] = {
                CTL_OPTION_SOCKET,
                CTL_OPTION_STATE_DIR,
                { "release", required_argument, NULL, CTL_OPT_RELEASE },
                {},
        };

        return ctl_change_phase(argc, argv, reset_usage, options);
}
