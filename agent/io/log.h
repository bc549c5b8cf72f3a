/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One line per event on stderr, with the <N> priority prefix journald understands. Only
 * the loop and the command front ends log; lower modules return errors instead.
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

/* Lines above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_max_level(enum log_level level);

/* Whether a line at level would be written (to skip formatting work when not). */
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
