/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * State shared by policy.c (reading, sections, keys) and policy-check.c (the checks that
 * need the whole file). Not a public API: only the policy*.c files include it.
 */

#include <stdarg.h>

#include "policy.h"

#define SECTION_KEYS_MAX 16
#define SECTIONS_MAX     (1 + POLICY_TARGETS_MAX + POLICY_RULES_MAX + POLICY_ACTIONS_MAX)

enum section_kind {
        SECTION_NONE, /* before the first header */
        SECTION_BATCH,
        SECTION_TARGET,
        SECTION_RULE,
        SECTION_ACTION,
        _SECTION_KIND_MAX,
};

struct parsed_section {
        enum section_kind kind;
        size_t index;                   /* into targets, rules or actions */
        int line;                       /* of the header */
        int key_line[SECTION_KEYS_MAX]; /* where each key of the kind's table was set, 0 = unset */
        unsigned bad_keys;              /* bit i: key i had an invalid value (already reported) */
};

struct policy_parser {
        struct policy *p;
        struct policy_diags *diags;
        size_t errors_before, diags_before; /* diags->n_errors and diags->n at the start */
        const char *text;                   /* the reader's input */
        size_t len, pos;
        int lineno; /* of the line inih handles right now */
        struct parsed_section *sections;
        size_t n_sections;
        struct parsed_section *cur; /* NULL: no section yet, or after a broken header */
        bool any_header;            /* a section header was seen, valid or not */
        bool oom;
};

/* policy_diags_add() with a va_list. */
int policy_diags_addv(struct policy_diags *d, int line, bool warning, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

/* Sorts the diagnostics from index from on by line (file-wide ones first); stable. */
void policy_diags_sort(struct policy_diags *d, size_t from);

/* Records a diagnostic; line 0 concerns the whole file. Sets ps->oom when out of memory. */
void parser_diag(struct policy_parser *ps, int line, bool warning, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Line where key was set in section s, 0 when it was not (or is not a key of its kind). */
int parser_key_line(const struct parsed_section *s, const char *key);

/* The name of a section's object ("" for [batch]). */
const char *policy_keys_object_name(const struct policy *p, const struct parsed_section *s);

/* Starts the object of a new valid section; NULL (reported) when there are too many. */
struct parsed_section *policy_keys_new_object(struct policy_parser *ps, enum section_kind kind,
                                              const char *name);

/* Validates and stores one KEY = VALUE of section s, reporting every problem. */
void policy_keys_set(struct policy_parser *ps, struct parsed_section *s, const char *key,
                     const char *value);

/* The checks that need the whole file: required keys, sections, cross-references. */
void policy_check_all(struct policy_parser *ps);
