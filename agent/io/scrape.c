/* SPDX-License-Identifier: MIT */
/* The I/O half of scrape.h: one target's scrapes on the shared engine, and `sample`'s helper. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "scrape.h"
#include "clock.h"
#include "util.h"

struct scrape {
        struct http *http;
        struct scrape_spec spec;
        char *url;
        uint64_t timeout_ms;
        uint64_t id; /* of the running request, 0 when idle */
        scrape_done_fn done;
        void *userdata;
};

int scrape_new(struct http *h, const struct policy_target *t, scrape_done_fn done, void *userdata,
               struct scrape **ret)
{
        _cleanup_free_ struct scrape *sc = NULL;
        int r;

        if (!t->metrics_url || t->metrics_timeout_ms == 0)
                return -EINVAL;
        sc = calloc(1, sizeof(*sc));
        if (!sc)
                return -ENOMEM;
        r = scrape_spec_from_target(t, &sc->spec);
        if (r < 0)
                return r;
        sc->url = strdup(t->metrics_url);
        if (!sc->url)
                return -ENOMEM;
        sc->http = h;
        sc->timeout_ms = t->metrics_timeout_ms;
        sc->done = done;
        sc->userdata = userdata;
        *ret = TAKE_PTR(sc);
        return 0;
}

struct scrape *scrape_free(struct scrape *sc)
{
        if (!sc)
                return NULL;
        if (sc->id)
                (void)http_cancel(sc->http, sc->id);
        free(sc->url);
        free(sc);
        return NULL;
}

bool scrape_running(const struct scrape *sc)
{
        return sc->id != 0;
}

static void on_response(uint64_t id, struct http_response *resp, void *userdata)
{
        struct scrape *sc = userdata;
        struct runtime_sample rs;
        char reason[SAMPLE_REASON_MAX];

        if (id != sc->id)
                return; /* cannot happen: a cancelled request never calls back */
        sc->id = 0;
        (void)scrape_judge(&sc->spec, resp->error, resp->reason, resp->status, resp->content_type,
                           resp->body, resp->body_len, reason, sizeof(reason), &rs);
        if (sc->done)
                sc->done(sc, &rs, reason, sc->userdata);
}

void scrape_cancel(struct scrape *sc)
{
        const struct runtime_sample none = { 0 };

        if (!sc->id)
                return;
        (void)http_cancel(sc->http, sc->id);
        sc->id = 0;
        if (sc->done)
                sc->done(sc, &none, SCRAPE_CANCELLED_REASON, sc->userdata);
}

int scrape_start(struct scrape *sc)
{
        uint64_t connect_ms = sc->timeout_ms < SCRAPE_CONNECT_TIMEOUT_MS
                                      ? sc->timeout_ms
                                      : SCRAPE_CONNECT_TIMEOUT_MS;
        struct http_request_opts o = { .url = sc->url,
                                       .accept = SCRAPE_ACCEPT,
                                       .connect_timeout_ms = connect_ms,
                                       .timeout_ms = sc->timeout_ms,
                                       .max_response_bytes = SCRAPE_RESPONSE_MAX };
        uint64_t id;
        int r;

        scrape_cancel(sc);
        r = http_submit(sc->http, &o, on_response, sc, &id);
        if (r < 0)
                return r;
        sc->id = id;
        return 0;
}

struct once_slot {
        struct sample *sample;
        bool finished;
};

static void once_done(struct scrape *sc, const struct runtime_sample *rs, const char *reason,
                      void *userdata)
{
        struct once_slot *slot = userdata;

        (void)sc;
        slot->sample->runtime = *rs;
        snprintf(slot->sample->runtime_error, sizeof(slot->sample->runtime_error), "%s", reason);
        slot->finished = true;
}

static size_t count_unfinished(const struct once_slot *slots, size_t n)
{
        size_t left = 0;

        for (size_t i = 0; i < n; i++)
                left += slots[i].sample && !slots[i].finished;
        return left;
}

/* Starts every target's scrape; a target that cannot start is reported at once. */
static uint64_t once_start(const struct policy *p, struct http *h, struct sample *const *samples,
                           struct once_slot *slots, struct scrape **scrapes)
{
        uint64_t longest_ms = 0;

        for (size_t i = 0; i < p->n_targets; i++) {
                const struct policy_target *t = &p->targets[i];
                int r;

                if (!t->metrics_url || !samples[i])
                        continue;
                slots[i].sample = samples[i];
                r = scrape_new(h, t, once_done, &slots[i], &scrapes[i]);
                if (r >= 0)
                        r = scrape_start(scrapes[i]);
                if (r < 0) {
                        samples[i]->runtime = (struct runtime_sample){ 0 };
                        snprintf(samples[i]->runtime_error, sizeof(samples[i]->runtime_error),
                                 "cannot start the scrape: %s", strerror(-r));
                        slots[i].finished = true;
                }
                if (t->metrics_timeout_ms > longest_ms)
                        longest_ms = t->metrics_timeout_ms;
        }
        return longest_ms;
}

int scrape_once_all(const struct policy *p, struct sample *const *samples)
{
        _cleanup_free_ struct once_slot *slots = calloc(p->n_targets + 1, sizeof(*slots));
        _cleanup_free_ struct scrape **scrapes = calloc(p->n_targets + 1, sizeof(*scrapes));
        struct http *h = NULL;
        uint64_t deadline;
        int r = 0;

        if (!slots || !scrapes || http_new(&h) < 0)
                return -ENOMEM;
        /* libcurl enforces each timeout; the extra second only guards against a stuck engine. */
        deadline = (uint64_t)mono_ms() + once_start(p, h, samples, slots, scrapes) + 1000;
        while (r >= 0 && count_unfinished(slots, p->n_targets) > 0 &&
               (uint64_t)mono_ms() < deadline)
                r = http_poll(h, NULL, 0, 200);
        for (size_t i = 0; i < p->n_targets; i++) {
                if (slots[i].sample && !slots[i].finished) {
                        slots[i].sample->runtime = (struct runtime_sample){ 0 };
                        snprintf(slots[i].sample->runtime_error,
                                 sizeof(slots[i].sample->runtime_error),
                                 "scrape did not finish within %" PRIu64 " ms",
                                 p->targets[i].metrics_timeout_ms);
                }
                scrapes[i] = scrape_free(scrapes[i]);
        }
        http_free(h);
        return r < 0 ? r : 0;
}
