/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A trip (core/breaker.h) as JSON: the one renderer and the one parser, used by the state
 * file, status, webhook payloads and replay. The forms differ only in what surrounds the
 * reason {"instance","rule","consecutive","limit","conditions":[{"metric","value",
 * "threshold"}]}; a condition without data has "value": null.
 */

#include <stddef.h>

#include "breaker.h"

enum trip_json_form {
        TRIP_JSON_STATE,  /* the state file: {"id","time","t_ms","reason":{...}} */
        TRIP_JSON_STATUS, /* status: the reason's members, then "t_ms" and "time" */
        TRIP_JSON_REASON, /* webhook payloads: the reason alone */
        TRIP_JSON_REPLAY, /* replay --json: "t_ms", then the reason's; whole numbers as integers */
        _TRIP_JSON_FORM_MAX,
};

/*
 * Renders t in form as compact JSON text, members in the order above. Returns 0 and *ret
 * (caller frees), -EINVAL for an unknown form, metric or non-finite number, -ENOMEM.
 */
int trip_json_format(const struct breaker_trip *t, enum trip_json_form form, char **ret);

/*
 * Parses text (len bytes) written in form: every member required, no others, metrics by
 * name, the id [A-Za-z0-9-] and the time RFC 3339 UTC. Names are not checked here (see
 * state_trip_valid()). Returns 0 and *ret; -EBADMSG with a short reason in why (whysize
 * bytes); -EINVAL for an unknown form. dry_run is never stored: it comes back false.
 */
int trip_json_parse(const char *text, size_t len, enum trip_json_form form,
                    struct breaker_trip *ret, char *why, size_t whysize);

/*
 * The JSON parsers' error (trip_json_parse, state_parse): writes the reason fmt formats to
 * why (whysize bytes) and returns -EBADMSG, for "return trip_json_bad(why, whysize, ...)".
 */
__attribute__((format(printf, 3, 4))) int trip_json_bad(char *why, size_t whysize, const char *fmt,
                                                        ...);
