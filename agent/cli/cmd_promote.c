/* SPDX-License-Identifier: MIT */
/* `oombreaker promote BATCH`: stops watching a healthy batch (through the daemon). */
#include "commands.h"
#include "ctl.h"

static const char promote_usage[] =
        "Usage: oombreaker promote BATCH [--socket PATH] [--state-dir DIR]\n\n"
        "Marks a batch promoted: it is no longer watched and 'wait' returns 0. Only root or\n"
        "members of the control socket's group may promote.\n";

int cmd_promote(int argc, char **argv)
{
        return ctl_change_phase(argc, argv, promote_usage, NULL);
}
