/* Recording: a growable spike buffer and fixed-interval state samplers, both drained by Python.
 *
 * Sampling never changes a neuron's state: the sampled value is computed from the state at the
 * neuron's last event, exactly as if the sample had not been taken, so recording does not change
 * the spikes. Shedding (control.c) may pause a sampler or shed a recorded id: the sample times or
 * spikes are then counted, not stored.
 */
#include <math.h>

#include "internal.h"

int eds__record_spike(eds_sim *sim, double t, uint32_t id)
{
    if (sim->recorded[id] == EDS__REC_SHED) {
        sim->ctl.n_spikes_shed++;
        return EDS_OK;
    }
    uint64_t cap_t = sim->cap_rec, cap_i = sim->cap_rec;
    EDS_CHECK(eds__grow((void **)&sim->rec_t, &cap_t, sim->n_rec + 1, sizeof(double)));
    EDS_CHECK(eds__grow((void **)&sim->rec_id, &cap_i, sim->n_rec + 1, sizeof(uint32_t)));
    sim->cap_rec = cap_t < cap_i ? cap_t : cap_i;
    sim->rec_t[sim->n_rec] = t;
    sim->rec_id[sim->n_rec] = id;
    sim->n_rec++;
    return EDS_OK;
}

int eds_sim_spikes_pending(const eds_sim *sim, uint64_t *n)
{
    if (!sim || !n)
        return EDS_NULLPTR;
    *n = sim->n_rec;
    return EDS_OK;
}

int eds_sim_drain_spikes(eds_sim *sim, double *t, uint32_t *id, uint64_t cap, uint64_t *n_out)
{
    if (!sim || !n_out || ((!t || !id) && cap))
        return EDS_NULLPTR;
    uint64_t n = sim->n_rec < cap ? sim->n_rec : cap;
    if (n) {
        memcpy(t, sim->rec_t, n * sizeof(double));
        memcpy(id, sim->rec_id, n * sizeof(uint32_t));
        memmove(sim->rec_t, sim->rec_t + n, (sim->n_rec - n) * sizeof(double));
        memmove(sim->rec_id, sim->rec_id + n, (sim->n_rec - n) * sizeof(uint32_t));
    }
    sim->n_rec -= n;
    *n_out = n;
    return EDS_OK;
}

int eds__sample(eds_sim *sim, uint32_t which, double t)
{
    eds__sampler *s = &sim->samplers[which];
    if (s->paused) {
        s->n_skipped++;
        s->next_k++;
        return eds__queue_push(&sim->queue, s->start + (double)s->next_k * s->interval,
                               EDS_EV_SAMPLE, which, 0, 0.0);
    }
    uint64_t cap_t = s->cap_rows, cap_v = s->cap_rows;
    if ((uint64_t)s->n * 3 > UINT64_MAX / (s->rows + 1))
        return EDS_OVERFLOW;
    EDS_CHECK(eds__grow((void **)&s->t, &cap_t, s->rows + 1, sizeof(double)));
    EDS_CHECK(eds__grow((void **)&s->values, &cap_v, s->rows + 1, (size_t)s->n * 3 * sizeof(double)));
    s->cap_rows = cap_t < cap_v ? cap_t : cap_v;
    double *row = s->values + s->rows * (uint64_t)s->n * 3;
    for (uint32_t i = 0; i < s->n; i++) {
        uint32_t id = s->ids[i];
        const eds__pop *p = &sim->pops[sim->pop_of[id]];
        EDS_CHECK(eds__state_at(sim, p, id - p->first, t, 1, row + 3 * i));
    }
    s->t[s->rows++] = t;
    s->next_k++;
    return eds__queue_push(&sim->queue, s->start + (double)s->next_k * s->interval, EDS_EV_SAMPLE,
                           which, 0, 0.0);
}

int eds_sim_add_sampler(eds_sim *sim, const uint32_t *ids, uint32_t n, double start,
                        double interval, uint32_t *out)
{
    if (!sim || !out || (!ids && n))
        return EDS_NULLPTR;
    if (!(interval > 0.0) || !isfinite(interval) || !isfinite(start) || n == 0)
        return EDS_INVALID;
    if (start < sim->now)
        return EDS_CAUSALITY;
    for (uint32_t i = 0; i < n; i++) {
        if (ids[i] >= sim->n_ids)
            return EDS_RANGE;
        int kind = sim->pops[sim->pop_of[ids[i]]].kind;
        if (!EDS__EVENT_DRIVEN(kind) && kind != EDS__POP_CLOCK)
            return EDS_INVALID;
    }
    eds__sampler *grown = realloc(sim->samplers, (sim->n_samplers + 1) * sizeof *grown);
    if (!grown)
        return EDS_NOMEM;
    sim->samplers = grown;
    eds__sampler *s = &sim->samplers[sim->n_samplers];
    memset(s, 0, sizeof *s);
    s->ids = malloc((size_t)n * sizeof(uint32_t));
    if (!s->ids)
        return EDS_NOMEM;
    memcpy(s->ids, ids, (size_t)n * sizeof(uint32_t));
    s->n = n;
    s->start = start;
    s->interval = interval;
    *out = sim->n_samplers++;
    return eds__queue_push(&sim->queue, start, EDS_EV_SAMPLE, *out, 0, 0.0);
}

int eds_sim_samples_pending(const eds_sim *sim, uint32_t which, uint64_t *rows)
{
    if (!sim || !rows)
        return EDS_NULLPTR;
    if (which >= sim->n_samplers)
        return EDS_RANGE;
    *rows = sim->samplers[which].rows;
    return EDS_OK;
}

int eds_sim_drain_samples(eds_sim *sim, uint32_t which, double *t, double *values,
                          uint64_t cap_rows, uint64_t *rows_out)
{
    if (!sim || !rows_out || ((!t || !values) && cap_rows))
        return EDS_NULLPTR;
    if (which >= sim->n_samplers)
        return EDS_RANGE;
    eds__sampler *s = &sim->samplers[which];
    uint64_t n = s->rows < cap_rows ? s->rows : cap_rows, width = (uint64_t)s->n * 3;
    if (n) {
        memcpy(t, s->t, n * sizeof(double));
        memcpy(values, s->values, n * width * sizeof(double));
        memmove(s->t, s->t + n, (s->rows - n) * sizeof(double));
        memmove(s->values, s->values + n * width, (s->rows - n) * width * sizeof(double));
    }
    s->rows -= n;
    *rows_out = n;
    return EDS_OK;
}

void eds__record_free(eds_sim *sim)
{
    free(sim->rec_t);
    free(sim->rec_id);
    for (uint32_t i = 0; i < sim->n_samplers; i++) {
        free(sim->samplers[i].ids);
        free(sim->samplers[i].t);
        free(sim->samplers[i].values);
    }
    free(sim->samplers);
}
