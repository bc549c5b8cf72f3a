/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One line per event. Only the loop and the command front ends log; lower modules return
 * errors instead. Where the lines go (docs/operations.md, "Logs"):
 *   journal  stderr is the journal (JOURNAL_STREAM names stderr's device and inode): native
 *            journal entries with PRIORITY and the OOMBREAKER_* fields of struct log_fields;
 *   text     plain lines on stderr;
 *   json     one JSON object a line on stderr (docs/json.md, "log line").
 */

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_NOTICE = 5,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

enum log_format {
        LOG_FORMAT_AUTO, /* journal when stderr is the journal, else text */
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        _LOG_FORMAT_MAX,
};

/* What an event is about; NULL members are left out. Journal fields OOMBREAKER_<NAME>. */
struct log_fields {
        const char *batch;
        const char *target; /* the instance (a policy [target] section) */
        const char *rule;
        const char *phase;
        const char *action;
};

/* Lines above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_max_level(enum log_level level);

/* Chooses the format (default LOG_FORMAT_AUTO). */
void log_set_format(enum log_format format);

/* "auto", "text" or "json" to its enum; -EINVAL for anything else. */
int log_format_from_string(const char *s);

/*
 * Whether journal_stream (the value of $JOURNAL_STREAM, "DEV:INODE" in decimal; NULL when
 * unset) names the file open on fd, i.e. whether fd is connected to the journal.
 */
bool log_stream_is_journal(const char *journal_stream, int fd);

/* Whether a line at level would be written (to skip formatting work when not). */
bool log_enabled(enum log_level level);

/* Logs one event with its fields (f may be NULL). Newlines in the message become spaces. */
void log_full(enum log_level level, const struct log_fields *f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The fields of one event, as an argument: LOG_FIELDS(.batch = name, .rule = rule). */
#define LOG_FIELDS(...) (&(const struct log_fields){ __VA_ARGS__ })

#define log_msg(level, ...) log_full(level, NULL, __VA_ARGS__)
#define log_error(...)      log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...)    log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)     log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)       log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)      log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
