/* SPDX-License-Identifier: MIT */
/* `oombreaker trip BATCH --reason TEXT`: a manual trip, through the daemon. */
#include <stdio.h>

#include "commands.h"
#include "ctl.h"

static const char trip_usage[] =
        "Usage: oombreaker trip BATCH --reason TEXT [--socket PATH] [--state-dir DIR]\n\n"
        "Trips a batch by hand, for pipelines and on-call: the same actions, state file and\n"
        "Idempotency-Keys as a rule's trip, with TEXT (1-200 printable ASCII characters) as\n"
        "\"text\" in the trip reason of the payload. A batch already tripped keeps its trip and\n"
        "nothing is sent again. Only root or members of the control socket's group may trip.\n\n"
        "  --reason TEXT     why (required)\n"
        "  --socket PATH     the daemon's control socket (default " CTL_SOCKET_DEFAULT ")\n"
        "  --state-dir DIR   accepted like the other commands that talk to the daemon\n\n"
        "Exit codes: 0 tripped (now or before), 1 refused or bad arguments, 4 no daemon.\n";

int cmd_trip(int argc, char **argv)
{
        static const struct option options[] = {
                CTL_OPTION_SOCKET,
                CTL_OPTION_STATE_DIR,
                { "reason", required_argument, NULL, CTL_OPT_REASON },
                {},
        };
        json_t *resp = NULL;
        struct ctl_opts o;
        int r, code = EXIT_OK;

        r = ctl_parse(argc, argv, trip_usage, options, true, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        if (!o.reason) {
                fprintf(stderr, "oombreaker trip: missing --reason TEXT (see 'oombreaker trip "
                                "--help')\n");
                return EXIT_CONFIG;
        }
        r = ctl_call(&o, "trip", &resp);
        if (r < 0) {
                ctl_explain_call_error("trip", &o, r);
                return ctl_call_error_exit(r);
        }
        if (!json_is_true(json_object_get(resp, "ok"))) {
                fprintf(stderr, "oombreaker trip: %s\n",
                        json_string_value(json_object_get(resp, "error")));
                code = EXIT_CONFIG;
        } else {
                printf("%s: %s, trip %s%s\n", o.batch,
                       json_string_value(json_object_get(resp, "phase")),
                       json_string_value(json_object_get(resp, "trip_id")),
                       json_is_true(json_object_get(resp, "already"))
                               ? " (already tripped: nothing is sent again)"
                               : "");
        }
        json_decref(resp);
        return code;
}
