/* SPDX-License-Identifier: MIT */
/* The control socket's commands (status, reset, promote, trip) and the status JSON of the batches.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json-number.h"
#include "log.h"
#include "loop-internal.h"
#include "util.h"

/* The first error of each policy file that did not load ("FILE:LINE: message"). */
static json_t *policy_errors_json(const struct loop *l)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < l->n_policy_errors; i++)
                json_array_append_new(a, json_string(l->policy_errors[i]));
        return a;
}

/*
 * {"schema":1,"batches":[...],"policy_errors":[...],"agent_run":ID then tail, with every
 * batch or only the one named, and which agent run answers. Each batch's object is the text
 * batch_status_format() renders, written as it is.
 */
static char *status_text(const struct loop *l, const char *only, const char *tail)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        bool ok = f != NULL, first = true;

        if (!f)
                return NULL;
        fprintf(f, "{\"schema\":%d,\"batches\":[", JSON_SCHEMA);
        for (size_t i = 0; ok && i < l->n; i++) {
                _cleanup_free_ char *text = NULL;

                if (only && strcmp(batch_name(l->batches[i]), only))
                        continue;
                ok = batch_status_format(l->batches[i], &text) == 0;
                if (ok)
                        fprintf(f, "%s%s", first ? "" : ",", text);
                first = false;
        }
        fputs("],\"policy_errors\":", f);
        if (ok) {
                json_t *e = policy_errors_json(l);

                ok = e && json_dumpf(e, f, JSON_COMPACT) == 0;
                json_decref(e);
        }
        fprintf(f, ",\"agent_run\":\"%s\"%s", l->run_id, tail);
        if (fclose(f) != 0 || !ok) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *loop_status_text(const struct loop *l)
{
        return status_text(l, NULL, "}\n");
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fail(const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* The answer to a manual trip: the trip's id, or why there is none. Exactly once: a batch
 * already tripped answers with the trip it holds, and nothing is sent again. */
static json_t *trip(struct loop *l, struct batch *b, const char *text)
{
        const struct breaker_trip *t;
        int r;

        if (!text || !breaker_text_valid(text))
                return fail("trip needs a reason: 1 to %d printable ASCII characters",
                            BREAKER_TEXT_MAX);
        r = batch_trip(b, text, loop_now_ms(l));
        if (r == -EBUSY)
                return fail("batch %s was promoted: reset it before tripping it", batch_name(b));
        if (r < 0 && r != -EALREADY)
                return fail("the trip is latched but could not be saved to the state file yet "
                            "(%s); it is saved at the next tick",
                            strerror(-r));
        l->publish = true;
        t = batch_trip_record(b);
        return json_pack("{s:b, s:s, s:s, s:s, s:b}", "ok", 1, "batch", batch_name(b), "phase",
                         breaker_phase_to_string(batch_phase(b)), "trip_id", t ? t->id : "",
                         "already", r == -EALREADY);
}

static json_t *change(struct loop *l, const struct control_peer *peer, const char *cmd,
                      struct batch *b, json_t *req)
{
        const char *text = json_string_value(json_object_get(req, "reason"));
        json_t *release = json_object_get(req, "release");
        const struct state_release *rel;
        int r;

        if (!peer->privileged) {
                log_warning("control: %s of batch %s refused for uid %u (not root, not in the "
                            "socket's group)",
                            cmd, batch_name(b), (unsigned)peer->uid);
                return fail("permission denied: %s needs root or membership in the control "
                            "socket's group",
                            cmd);
        }
        log_notice("control: %s of batch %s requested by uid %u (pid %d)", cmd, batch_name(b),
                   (unsigned)peer->uid, (int)peer->pid);
        if (!strcmp(cmd, "trip"))
                return trip(l, b, text);
        if (release && (strcmp(cmd, "reset") || !release_valid(json_string_value(release))))
                return fail("\"release\" is for reset only, and must be 1-64 characters of "
                            "A-Z a-z 0-9 . _ -");
        r = !strcmp(cmd, "reset") ? batch_reset(b, loop_now_ms(l), json_string_value(release))
                                  : batch_promote(b);
        if (r == -EBUSY)
                return fail("batch %s tripped: reset it (and roll back) instead of promoting",
                            batch_name(b));
        if (r == -EOVERFLOW)
                return fail("batch %s: the reset generation is at its cap; reset with "
                            "--release ID",
                            batch_name(b));
        if (r < 0)
                return fail("the new phase could not be saved to the state file (%s)",
                            strerror(-r));
        l->publish = true;
        rel = batch_release(b);
        return json_pack("{s:b, s:s, s:s, s:s?, s:I}", "ok", 1, "batch", batch_name(b), "phase",
                         breaker_phase_to_string(batch_phase(b)), "release",
                         rel->set ? rel->id : NULL, "generation", (json_int_t)rel->generation);
}

char *loop_on_control(void *userdata, const struct control_peer *peer, const char *line, size_t len)
{
        struct loop *l = userdata;
        json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        const char *cmd = json_string_value(json_object_get(req, "cmd"));
        const char *name = json_string_value(json_object_get(req, "batch"));
        struct batch *b = name ? loop_find_batch(l, name) : NULL;
        json_t *resp;
        char *text;

        l->trim_due = true; /* the reply is heap garbage once sent */
        if (!json_is_object(req))
                resp = fail("request is not a JSON object");
        else if (!cmd)
                resp = fail("missing \"cmd\" (status, reset, promote or trip)");
        else if (name && !b)
                resp = fail("no batch named %s is loaded", name);
        else if (!strcmp(cmd, "status")) {
                text = status_text(l, name, ",\"ok\":true}");
                json_decref(req);
                return text;
        } else if (!strcmp(cmd, "reset") || !strcmp(cmd, "promote") || !strcmp(cmd, "trip"))
                resp = b ? change(l, peer, cmd, b, req) : fail("%s needs a batch", cmd);
        else
                resp = fail("unknown command \"%s\" (status, reset, promote or trip)", cmd);
        text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
        json_decref(resp);
        json_decref(req);
        return text;
}
