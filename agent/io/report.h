/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the agent tells the outside about a batch: the status JSON (control socket,
 * /status, `status`) and its pieces. Pure: values in, JSON out.
 */

#include <jansson.h>

#include "state.h"

/* The trip reason as status and payloads show it: {"instance","rule","consecutive","limit",
 * "conditions":[{"metric","value","threshold"}]}. Returns a new reference or NULL. */
json_t *report_reason_json(const struct state_trip_reason *r);

/*
 * The persisted part of a batch's status: batch, phase, trip_id, trip (with t_ms and
 * time) and actions. Returns a new reference, or NULL on allocation failure.
 */
json_t *report_state_json(const struct state *s);
