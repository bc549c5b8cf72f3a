/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The entries say what happened; where in log.c they were sent from is noise. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

#define LINE_MAX_CHARS 2048
#define JOURNAL_SOCKET "/run/systemd/journal/socket" /* its native protocol */

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_format format = LOG_FORMAT_AUTO;
static int to_journal = -1; /* -1: decide at the first line */

static const char *const format_names[_LOG_FORMAT_MAX] = {
        [LOG_FORMAT_AUTO] = "auto",
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_JSON] = "json",
};

static const char *const level_names[] = {
        [LOG_LEVEL_ERR] = "err",   [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
        [LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_max_level(enum log_level level)
{
        max_level = level;
}

void log_set_format(enum log_format f)
{
        format = f;
        to_journal = -1;
}

int log_format_from_string(const char *s)
{
        for (int i = 0; i < _LOG_FORMAT_MAX; i++)
                if (strcmp(s, format_names[i]) == 0)
                        return i;
        return -EINVAL;
}

bool log_stream_is_journal(const char *journal_stream, int fd)
{
        unsigned long long dev, ino;
        struct stat st;
        int end = 0;

        if (!journal_stream || sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
            journal_stream[end] != '\0' || fstat(fd, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

bool log_enabled(enum log_level level)
{
        return level <= max_level;
}

/* Native journal entry; -errno when the journal does not take it. */
static int send_journal(enum log_level level, const struct log_fields *f, const char *msg)
{
        const char *names[] = { "BATCH", "TARGET", "RULE", "PHASE", "ACTION" };
        const char *values[] = { f->batch, f->target, f->rule, f->phase, f->action };
        char text[3 + ELEMENTSOF(names)][LINE_MAX_CHARS + 32];
        struct iovec iov[ELEMENTSOF(text)];
        int n = 0;

        snprintf(text[n++], sizeof(text[0]), "MESSAGE=%s", msg);
        snprintf(text[n++], sizeof(text[0]), "PRIORITY=%d", (int)level);
        snprintf(text[n++], sizeof(text[0]), "SYSLOG_IDENTIFIER=oombreaker");
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (values[i])
                        snprintf(text[n++], sizeof(text[0]), "OOMBREAKER_%s=%s", names[i],
                                 values[i]);
        for (int i = 0; i < n; i++)
                iov[i] = (struct iovec){ .iov_base = text[i], .iov_len = strlen(text[i]) };
        return sd_journal_sendv(iov, n);
}

/* One JSON object a line: the time, level, message and the fields present. */
static void write_json(enum log_level level, const struct log_fields *f, const char *msg)
{
        const char *names[] = { "batch", "target", "rule", "phase", "action" };
        const char *values[] = { f->batch, f->target, f->rule, f->phase, f->action };
        struct timespec ts;
        struct tm tm;
        char when[40];
        json_t *o;
        char *s;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
        o = json_pack("{s:i, s:s, s:s, s:i, s:s}", "schema", 1, "time", when, "level",
                      level_names[level], "priority", (int)level, "message", msg);
        for (size_t i = 0; o && i < ELEMENTSOF(names); i++)
                if (values[i])
                        json_object_set_new(o, names[i], json_string(values[i]));
        s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (s)
                fprintf(stderr, "%s\n", s);
        else /* out of memory or not UTF-8: the message must not be lost */
                fprintf(stderr, "%s\n", msg);
        free(s);
        json_decref(o);
}

void log_full(enum log_level level, const struct log_fields *f, const char *fmt, ...)
{
        static const struct log_fields none;
        char line[LINE_MAX_CHARS];
        va_list ap;
        int n;

        if (level > max_level)
                return;
        /* sd_journal_sendv() drops lines silently when journald's socket is missing. */
        if (to_journal < 0)
                to_journal = format == LOG_FORMAT_AUTO &&
                             log_stream_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO) &&
                             access(JOURNAL_SOCKET, W_OK) == 0;
        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        /* One event, one line: embedded newlines would split it. */
        for (char *p = line; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        f = f ? f : &none;
        if (format == LOG_FORMAT_JSON)
                write_json(level, f, line);
        else if (!to_journal || send_journal(level, f, line) < 0)
                fprintf(stderr, "%s\n", line);
}
