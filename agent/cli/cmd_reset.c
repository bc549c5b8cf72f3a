/* SPDX-License-Identifier: MIT */
/* `oombreaker reset BATCH`: re-arms a batch (through the daemon). */
#include "commands.h"
#include "ctl.h"

static const char reset_usage[] =
        "Usage: oombreaker reset BATCH [--socket PATH] [--state-dir DIR]\n\n"
        "Re-arms a batch: clears the latch, the streaks and the trip; OOM kills are counted\n"
        "afresh. Only root or members of the control socket's group may reset.\n";

int cmd_reset(int argc, char **argv)
{
        return ctl_change_phase(argc, argv, reset_usage);
}
