/* SPDX-License-Identifier: MIT */
/* The runtime API's text: the commands oombreaker sends and the "show servers state" dump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy-text.h"
#include "util.h"

#define LINE_MAX_BYTES 4096
#define FIELDS_MIN     7 /* be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state */

/* srv_admin_state bits (management guide, "show servers state"). */
#define ADMF_FMAINT 0x01
#define ADMF_IMAINT 0x02
#define ADMF_CMAINT 0x04
#define ADMF_FDRAIN 0x08
#define ADMF_IDRAIN 0x10
#define ADMF_RMAINT 0x20
#define ADMF_MAINT  (ADMF_FMAINT | ADMF_IMAINT | ADMF_CMAINT | ADMF_RMAINT)
#define ADMF_DRAIN  (ADMF_FDRAIN | ADMF_IDRAIN)

static bool name_part_valid(const char *s, size_t n)
{
        if (n == 0 || n > POLICY_NAME_MAX * 2)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ';' || s[i] == '/')
                        return false;
        return true;
}

bool haproxy_server_valid(const char *server)
{
        const char *slash = server ? strchr(server, '/') : NULL;

        return slash && name_part_valid(server, (size_t)(slash - server)) &&
               name_part_valid(slash + 1, strlen(slash + 1));
}

int haproxy_format_command(enum haproxy_state state, const char *server, char *buf, size_t size)
{
        int n;

        if (!haproxy_server_valid(server))
                return -EINVAL;
        switch (state) {
        case HAPROXY_STATE_MAINT:
                n = snprintf(buf, size, "set server %s state maint", server);
                break;
        case HAPROXY_STATE_DRAIN:
                n = snprintf(buf, size, "set server %s state drain", server);
                break;
        case HAPROXY_STATE_WEIGHT0:
                n = snprintf(buf, size, "set weight %s 0", server);
                break;
        default:
                return -EINVAL;
        }
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return n;
}

const char *haproxy_admin_state_name(unsigned admin_state)
{
        if (admin_state & ADMF_MAINT)
                return "MAINT";
        if (admin_state & ADMF_DRAIN)
                return "DRAIN";
        return "READY";
}

static int parse_uint(const char *s, unsigned *ret)
{
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > 0xffff)
                return -EBADMSG;
        *ret = (unsigned)v;
        return 0;
}

/* Splits line in place on blanks into at most max fields. Returns the count. */
static size_t split(char *line, char **fields, size_t max)
{
        char *save = NULL;
        size_t n = 0;

        for (char *tok = strtok_r(line, " \t", &save); tok && n < max;
             tok = strtok_r(NULL, " \t", &save))
                fields[n++] = tok;
        return n;
}

/* Checks one data line; 1 when it is backend/server (states stored), 0 when not. */
static int match_line(char *line, const char *backend, const char *server, unsigned *admin,
                      unsigned *op)
{
        char *f[FIELDS_MIN];

        if (split(line, f, FIELDS_MIN) < FIELDS_MIN)
                return -EBADMSG;
        if (strcmp(f[1], backend) != 0 || strcmp(f[3], server) != 0)
                return 0;
        if (parse_uint(f[5], op) < 0 || parse_uint(f[6], admin) < 0)
                return -EBADMSG;
        return 1;
}

int haproxy_parse_server_state(const char *reply, const char *backend, const char *server,
                               unsigned *ret_admin_state, unsigned *ret_op_state)
{
        char line[LINE_MAX_BYTES];
        unsigned admin, op;
        size_t lineno = 0;

        for (const char *p = reply; *p; lineno++) {
                size_t n = strcspn(p, "\n");
                int r;

                if (n >= sizeof(line))
                        return -EBADMSG;
                memcpy(line, p, n);
                line[n] = '\0';
                p += n + (p[n] == '\n');
                if (lineno == 0) {
                        if (strcmp(line, "1") != 0)
                                return -EBADMSG;
                        continue;
                }
                if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
                        continue;
                r = match_line(line, backend, server, &admin, &op);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_admin_state = admin;
                        *ret_op_state = op;
                        return 0;
                }
        }
        return lineno == 0 ? -EBADMSG : -ENOENT;
}
