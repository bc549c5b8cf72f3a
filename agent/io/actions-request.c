/* SPDX-License-Identifier: MIT */
/* What an action sends: the webhook's expanded URL, headers, body and token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "actions-internal.h"
#include "template.h"
#include "token.h"
#include "trip-json.h"
#include "util.h"

int actions_envelope(const struct policy *p, const struct state *s, const char *name,
                     const char *host, char **ret)
{
        _cleanup_free_ char *reason = NULL;
        json_t *o;
        char *text;
        int r;

        r = trip_json_format(&s->trip, TRIP_JSON_REASON, &reason);
        if (r < 0)
                return r;
        o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:s, s:o}", "schema", 1,
                      "batch", p->name, "phase", "tripped", "action", name, "trip_id", s->trip.id,
                      "host", host, "image", p->image, "stable_image", p->stable_image,
                      "traffic_percent", (json_int_t)p->traffic_percent, "timestamp", s->trip.time,
                      "reason", json_loads(reason, 0, NULL));
        /* The release the keys use, so a pipeline sees which rollout attempt tripped. */
        if (o && s->release.set &&
            (json_object_set_new(o, "release", json_string(s->release.id)) < 0 ||
             json_object_set_new(o, "generation", json_integer(s->release.generation)) < 0))
                o = (json_decref(o), NULL);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static void fill_vars(const struct policy *p, const struct state *s, const char *host,
                      const char *name, char *percent, size_t size, struct template_vars *v)
{
        snprintf(percent, size, "%u", p->traffic_percent);
        *v = (struct template_vars){ .v = {
                                             [TEMPLATE_VAR_BATCH] = p->name,
                                             [TEMPLATE_VAR_IMAGE] = p->image,
                                             [TEMPLATE_VAR_STABLE_IMAGE] = p->stable_image,
                                             [TEMPLATE_VAR_TRAFFIC_PERCENT] = percent,
                                             [TEMPLATE_VAR_TRIP_ID] = s->trip.id,
                                             [TEMPLATE_VAR_ACTION] = name,
                                             [TEMPLATE_VAR_INSTANCE] = s->trip.instance,
                                             [TEMPLATE_VAR_RULE] = s->trip.rule,
                                             [TEMPLATE_VAR_HOST] = host,
                                             [TEMPLATE_VAR_RELEASE] = s->release.id,
                                     } };
}

void actions_http_clear(struct actions_http *h)
{
        free(h->url);
        free(h->body);
        for (size_t i = 0; i < h->n_headers; i++)
                free(h->headers[i]);
        explicit_bzero(h->token, sizeof(h->token));
        *h = (struct actions_http){ 0 };
}

int actions_http_build(const struct policy *p, const struct state *s, const char *host,
                       const struct policy_action *pa, const struct state_action *x,
                       struct actions_http *hp, char *why, size_t whysize)
{
        struct template_vars vars;
        char percent[16];
        bool has_ct = false;
        int r;

        fill_vars(p, s, host, pa->name, percent, sizeof(percent), &vars);
        r = template_expand(pa->url, &vars, TEMPLATE_ESCAPE_URL, &hp->url);
        for (size_t i = 0; r >= 0 && i < pa->n_headers; i++) {
                r = template_expand(pa->headers[i], &vars, TEMPLATE_ESCAPE_NONE,
                                    &hp->headers[hp->n_headers]);
                if (r >= 0 && !strncasecmp(hp->headers[hp->n_headers], "content-type:", 13))
                        has_ct = true;
                hp->n_headers += r >= 0;
        }
        if (r >= 0)
                r = pa->body ? template_expand(pa->body, &vars, TEMPLATE_ESCAPE_JSON, &hp->body)
                             : actions_envelope(p, s, pa->name, host, &hp->body);
        if (r >= 0 && asprintf(&hp->headers[hp->n_headers], "Idempotency-Key: %s", x->key) < 0)
                r = -ENOMEM;
        hp->n_headers += r >= 0;
        if (r >= 0 && !has_ct &&
            !(hp->headers[hp->n_headers] = strdup("Content-Type: application/json")))
                r = -ENOMEM;
        hp->n_headers += r >= 0 && !has_ct;
        if (r < 0) {
                snprintf(why, whysize, "cannot build the request: %s", strerror(-r));
                return r;
        }
        if (pa->token_file)
                return token_reread(pa->token_file, pa->token, hp->token, sizeof(hp->token), why,
                                    whysize);
        return 0;
}
