/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static int prefix = -1; /* -1: decide at the first line */

void log_set_max_level(enum log_level level)
{
        max_level = level;
}

bool log_enabled(enum log_level level)
{
        return level <= max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        char line[2048];
        va_list ap;
        int n;

        if (level > max_level)
                return;
        if (prefix < 0)
                prefix = getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);
        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        /* One event, one line: embedded newlines would split it in the journal. */
        for (char *p = line; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        if (prefix)
                fprintf(stderr, "<%d>%s\n", (int)level, line);
        else
                fprintf(stderr, "%s\n", line);
}
