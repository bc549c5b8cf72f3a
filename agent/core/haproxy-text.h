/* SPDX-License-Identifier: MIT */
#pragma once

/* HAProxy runtime API text: the commands the agent sends and the replies it reads; pure. */

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/*
 * Formats the command that puts server ("backend/server") into state: "set server B/S
 * state maint|drain" or "set weight B/S 0". Returns the length, -EINVAL for a bad server
 * name, -ENOBUFS when buf is too small.
 */
int haproxy_format_command(enum haproxy_state state, const char *server, char *buf, size_t size);

/* True for "backend/server" with two non-empty names of printable, non-blank characters. */
bool haproxy_server_valid(const char *server);

/*
 * Finds backend/server in the reply of "show servers state [backend]" (format version 1)
 * and returns its srv_admin_state mask and srv_op_state. Returns 0, -ENOENT when the server
 * is not listed, -EBADMSG when the reply is not a version 1 dump.
 */
int haproxy_parse_server_state(const char *reply, const char *backend, const char *server,
                               unsigned *ret_admin_state, unsigned *ret_op_state);

/* Names an admin-state mask: "MAINT" (any maintenance bit), "DRAIN" (a drain bit), "READY". */
const char *haproxy_admin_state_name(unsigned admin_state);
