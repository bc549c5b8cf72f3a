/* SPDX-License-Identifier: MIT */
/* What the breaker shows its callers: phase names, the trip, streaks and figures. */
#include <errno.h>
#include <string.h>

#include "breaker-internal.h"

static const char *const phase_names[_BREAKER_PHASE_MAX] = {
        [BREAKER_ARMED] = "armed",       [BREAKER_BREACHING] = "breaching",
        [BREAKER_TRIPPED] = "tripped",   [BREAKER_ROLLED_BACK] = "rolled_back",
        [BREAKER_FAILED] = "failed",     [BREAKER_INCONCLUSIVE] = "inconclusive",
        [BREAKER_PROMOTED] = "promoted",
};

const char *breaker_phase_to_string(enum breaker_phase p)
{
        if ((unsigned)p >= _BREAKER_PHASE_MAX)
                return NULL;
        return phase_names[p];
}

int breaker_phase_from_string(const char *s, enum breaker_phase *ret)
{
        for (int i = 0; i < _BREAKER_PHASE_MAX; i++)
                if (s && strcmp(s, phase_names[i]) == 0) {
                        *ret = (enum breaker_phase)i;
                        return 0;
                }
        return -EINVAL;
}

bool breaker_phase_latched(enum breaker_phase p)
{
        return p == BREAKER_TRIPPED || p == BREAKER_ROLLED_BACK || p == BREAKER_FAILED;
}

const struct breaker_transition *breaker_transitions(const struct breaker *b, size_t *ret_n)
{
        *ret_n = b->n_tv;
        return b->tv;
}

enum breaker_phase breaker_phase(const struct breaker *b)
{
        return b->phase;
}

const struct breaker_trip *breaker_trip(const struct breaker *b)
{
        return b->has_trip ? &b->trip : NULL;
}

const struct breaker_trip *breaker_would_trip(const struct breaker *b)
{
        return b->has_would_trip ? &b->would_trip : NULL;
}

bool breaker_oom_baseline(const struct breaker *b, size_t target, uint64_t *ret_count)
{
        if (target >= b->p->n_targets || !b->targets[target].has_oom_baseline)
                return false;
        *ret_count = b->targets[target].oom_baseline;
        return true;
}

int breaker_set_oom_baseline(struct breaker *b, size_t target, uint64_t count)
{
        if (target >= b->p->n_targets)
                return -EINVAL;
        b->targets[target].has_oom_baseline = true;
        b->targets[target].oom_baseline = count;
        return 0;
}

size_t breaker_n_instances(const struct breaker *b)
{
        return b->n_inst;
}

unsigned breaker_streak(const struct breaker *b, size_t instance, size_t rule)
{
        if (instance >= b->n_inst || rule >= b->p->n_rules)
                return 0;
        return pair_at(b, instance, rule)->streak;
}

unsigned breaker_no_data(const struct breaker *b, size_t instance, size_t rule)
{
        if (instance >= b->n_inst || rule >= b->p->n_rules)
                return 0;
        return pair_at(b, instance, rule)->no_data;
}

const struct rules_result *breaker_last_result(const struct breaker *b, size_t instance,
                                               size_t rule)
{
        const struct pair_state *ps;

        if (instance >= b->n_inst || rule >= b->p->n_rules)
                return NULL;
        ps = pair_at(b, instance, rule);
        return ps->evaluated ? &ps->last : NULL;
}

const struct rules_figures *breaker_target_figures(const struct breaker *b, size_t target)
{
        if (target >= b->p->n_targets)
                return NULL;
        return &b->targets[target].figures;
}

const struct forecast_view *breaker_target_forecast(const struct breaker *b, size_t target)
{
        if (target >= b->p->n_targets || !b->targets[target].fc)
                return NULL;
        return &b->targets[target].fv;
}

const char *breaker_instance_name(const struct breaker *b, size_t instance)
{
        if (instance >= b->n_inst)
                return NULL;
        if (b->p->scope == POLICY_SCOPE_BATCH)
                return BREAKER_BATCH_INSTANCE;
        return b->p->targets[instance].name;
}
