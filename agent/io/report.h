/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the agent tells the outside about a batch's persisted state: the part of the status
 * JSON (control socket, /status, `status`) that the state file holds. Values in, text out.
 */

#include "state.h"

/*
 * s as compact JSON text: {"batch","phase","trip_id","trip","actions"}, the trip in
 * TRIP_JSON_STATUS form (or null) and each action's "action","status","attempts","result"
 * and "key". Returns 0 and *ret (caller frees), -EINVAL for a state that cannot be
 * rendered, -ENOMEM.
 */
int report_state_format(const struct state *s, char **ret);
