/* SPDX-License-Identifier: MIT */
#pragma once

/* Key tables and value validation of policy files; internal to the policy module. */

#include "policy-internal.h"

#define POLICY_QUOTE_MAX 80 /* a quoted value in a message: 64 characters, then "..." */

enum value_kind {
        V_NAME,     /* [A-Za-z0-9._-]{1,64} into a char[POLICY_NAME_MAX + 1] */
        V_TEXT,     /* any non-empty text */
        V_PATH,     /* absolute path */
        V_SOCKET,   /* absolute path that fits sockaddr_un */
        V_CGROUP,   /* cgroup path or glob, starts with '/' */
        V_UNIT,     /* systemd unit name */
        V_URL,      /* http:// or https:// */
        V_SELECTOR, /* metric name, optionally {label="value",...} */
        V_METHOD,   /* HTTP method */
        V_HEADER,   /* "Name: value", appended to a string array */
        V_ADDRESS,  /* host:port */
        V_SERVER,   /* backend/server */
        V_DURATION, /* into uint64_t milliseconds */
        V_SIZE,     /* into uint64_t bytes (conditions: double) */
        V_RATIO,    /* double */
        V_NUMBER,   /* double */
        V_UINT,     /* unsigned */
        V_PERCENT,  /* unsigned with KEY_INTEGER, else double */
        V_BOOL,     /* bool */
        V_ENUM,     /* enum, index into choices */
};

enum key_flags {
        KEY_REQUIRED = 1 << 0,
        KEY_REPEAT = 1 << 1,   /* may appear more than once (header) */
        KEY_HTTP = 1 << 2,     /* only in http actions */
        KEY_HAPROXY = 1 << 3,  /* only in haproxy actions */
        KEY_COND = 1 << 4,     /* a rule condition; offset is the enum cond_metric */
        KEY_INTEGER = 1 << 5,  /* a whole number even though the syntax allows decimals */
        KEY_TEMPLATE = 1 << 6, /* may hold ${variables} */
};

struct key_def {
        const char *name;
        enum value_kind kind;
        size_t offset;              /* of the field in the section's struct */
        double min, max;            /* inclusive range of numeric kinds, in ms/bytes/units */
        const char *const *choices; /* V_ENUM, NULL-terminated, in enum order */
        unsigned flags;
};

/* The key table of a section kind ({ NULL }-terminated), NULL for none. */
const struct key_def *policy_keys_table(enum section_kind kind);

/* "batch", "target", "rule", "action"; "?" when out of range. */
const char *policy_keys_section_name(enum section_kind kind);

/* Copies at most 64 characters of s into buf with control bytes as '?'; returns buf. */
const char *policy_keys_quote(const char *s, char buf[static POLICY_QUOTE_MAX]);

/*
 * Validates value as def says and stores it into obj (the section's struct). Returns 0, or
 * -EINVAL after reporting the problem at the current line.
 */
int policy_value_store(struct policy_parser *ps, const struct key_def *def, void *obj,
                       const char *value);
