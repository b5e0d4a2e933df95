/* Poisson drive fused into voltage-jump neurons: no event per input spike.
 *
 * Brunel's network gives every neuron its own 20 kHz Poisson source through one synapse: 2.5e8
 * input spikes per biological second, each an EMIT and a DELIVER through the queue. When a
 * Poisson population's every source has exactly one synapse, onto an IF_curr_delta neuron that
 * cannot fire without input (v_inf <= v_thresh) and with a positive jump, and no source is
 * recorded, prepare() fuses each source into its target: the neuron draws its source's spike
 * train itself (the source's own Philox stream, keyed (seed, source id): spike k = spike k-1 -
 * ln(u_k) / rate from `start`, while < `stop`) and applies the arrivals (spike + delay) in time
 * order, lazily, whenever it is touched; they never enter the queue.
 *
 * Invariant: an arrival can make the neuron fire only if it lifts v to threshold, which needs at
 * least (v_thresh - max(v, v_inf)) / w more arrivals (v relaxes towards v_inf <= v_thresh), so the neuron's one queue
 * slot holds a wake (RECHECK) at or before that arrival (halfway, or the K-th buffered one, so
 * that inputs rarely have to move it; inhibition never does);
 * between wakes every touch (a recurrent input, a sample, a state read) first applies the
 * arrivals before it. The arithmetic is that of an input delivered through the queue, so the
 * spikes equal, bit for bit, those of the same trains given as spike-time sources (tested), except
 * when an arrival coincides exactly with another event. Arrivals during refractoriness are lost,
 * as inputs through the queue are.
 */
#include <math.h>

#include "internal.h"

/* next spike of neuron j's source after its last one; INFINITY once past the window */
static double next_source_spike(const eds_sim *sim, eds__drive *d, uint32_t j)
{
    const eds__pop *src = &sim->pops[d->src_pop[j]];
    double u = eds__uniform(eds__philox_draw(sim->seed, d->src_id[j], d->draws[j]++,
                                             d->block + 4 * (uint64_t)j, &d->block_k[j]));
    double t = d->last_spike[j] - log(u) * (1000.0 / src->rate);
    if (!(t < src->stop))
        return INFINITY;
    d->last_spike[j] = t;
    return t;
}

/* Appends neuron j's next arrival to its buffer; 0 when its source has no more spikes. */
static int gen_one(const eds_sim *sim, eds__drive *d, uint32_t j)
{
    if (d->done[j])
        return 0;
    double spike = next_source_spike(sim, d, j);
    if (isinf(spike)) {
        d->done[j] = 1;
        return 0;
    }
    uint32_t c = d->count[j];
    d->buf[(uint64_t)j * EDS__DRIVE_K + (d->head[j] + c) % EDS__DRIVE_K] =
        spike + sim->grp_delay[d->group[j]];
    d->count[j] = (uint8_t)(c + 1);
    return 1;
}

static inline double arrival(const eds__drive *d, uint32_t j, uint32_t i)
{
    return d->buf[(uint64_t)j * EDS__DRIVE_K + (d->head[j] + i) % EDS__DRIVE_K];
}

static inline double weight(const eds_sim *sim, const eds__drive *d, uint32_t j)
{
    return sim->syn_weight[sim->grp_start[d->group[j]]];
}

int eds__drive_consume(eds_sim *sim, eds__pop *p, uint32_t j, double t, int inclusive,
                       double *fired_at)
{
    eds__drive *d = p->drive;
    const eds__exact *m = &p->exact;
    *fired_at = NAN;
    if (d->src_pop[j] == EDS__NO_DRIVE)
        return EDS_OK;
    const double w = weight(sim, d, j);
    for (;;) {
        if (d->count[j] == 0 && !gen_one(sim, d, j))
            return EDS_OK;
        double a = arrival(d, j, 0);
        if (a > t || (a == t && !inclusive))
            return EDS_OK;
        d->head[j] = (uint8_t)((d->head[j] + 1) % EDS__DRIVE_K);
        d->count[j]--;
        if (d->wake_left[j])
            d->wake_left[j]--;
        sim->stats.n_source_spikes++;
        sim->stats.n_synaptic_events++;
        if (a < p->refr_until[j]) {
            p->t_last[j] = a; /* lost, as an input through the queue would be */
            continue;
        }
        EDS_CHECK(eds__delta_jump(p, j, a, w));
        if (p->v[j] >= m->p.v_thresh) {
            /* only the arrival the neuron woke for can lift it to threshold */
            if (a != t)
                return EDS_STATE;
            *fired_at = a;
            return EDS_OK;
        }
    }
}

/* (v_thresh - max(v, v_inf)) / w, shrunk by 1e-9 against rounding: fewer arrivals than this
 * cannot lift neuron j to threshold, since between arrivals v relaxes towards v_inf <= v_thresh. */
static inline double arrivals_needed(const eds_sim *sim, const eds__pop *p, uint32_t j)
{
    const double w = weight(sim, p->drive, j);
    const double v = p->v[j] > p->exact.v_inf ? p->v[j] : p->exact.v_inf;
    return w > 0.0 ? (p->exact.p.v_thresh - v) / w * (1.0 - 1e-9) : INFINITY;
}

int eds__drive_wake_ok(const eds_sim *sim, const eds__pop *p, uint32_t j)
{
    uint8_t left = p->drive->wake_left[j];
    return left > 0 && (double)left <= arrivals_needed(sim, p, j);
}

int eds__drive_schedule(eds_sim *sim, eds__pop *p, uint32_t j, uint32_t *wake_index)
{
    eds__drive *d = p->drive;
    *wake_index = UINT32_MAX;
    d->wake_left[j] = 0;
    if (d->src_pop[j] == EDS__NO_DRIVE)
        return EDS_OK;
    double need = arrivals_needed(sim, p, j);
    /* wake halfway: excitatory inputs then rarely pull the wake earlier (each would move it) */
    uint32_t k = need >= 2.0 * EDS__DRIVE_K ? EDS__DRIVE_K : (need >= 2.0 ? (uint32_t)(need / 2) : 1u);
    while (d->count[j] < k && gen_one(sim, d, j))
        ;
    if (d->count[j] == 0 || (d->count[j] < k && d->done[j] && (double)d->count[j] < need))
        return EDS_OK; /* the source's remaining spikes cannot make it fire: no wake */
    uint32_t m = d->count[j] < k ? d->count[j] : k;
    d->wake_left[j] = (uint8_t)m;
    *wake_index = m - 1;
    return EDS_OK;
}

double eds__drive_wake_time(const eds__pop *p, uint32_t j, uint32_t wake_index)
{
    return arrival(p->drive, j, wake_index);
}

int eds__drive_state_v(const eds_sim *sim, const eds__pop *p, uint32_t j, double t, int inclusive,
                       double *v, double *t_v)
{
    const eds__drive *d = p->drive;
    const eds__exact *m = &p->exact;
    *v = p->v[j];
    *t_v = p->t_last[j];
    if (d->src_pop[j] == EDS__NO_DRIVE)
        return EDS_OK;
    const double w = weight(sim, d, j);
    /* every arrival up to the neuron's wake (>= now >= t) is buffered */
    for (uint32_t i = 0; i < d->count[j]; i++) {
        double a = arrival(d, j, i);
        if (a > t || (a == t && !inclusive))
            break;
        if (a < p->refr_until[j])
            continue;
        *v = eds__delta_decay(m, *v, a - *t_v) + w;
        *t_v = a;
    }
    return EDS_OK;
}

static void drive_free(eds__drive *d)
{
    if (!d)
        return;
    free(d->src_pop);
    free(d->src_id);
    free(d->group);
    free(d->draws);
    free(d->last_spike);
    free(d->buf);
    free(d->block);
    free(d->block_k);
    free(d->wake_left);
    free(d->head);
    free(d->count);
    free(d->done);
    free(d);
}

void eds__drive_free(eds__pop *p)
{
    drive_free(p->drive);
    p->drive = NULL;
}

static int drive_alloc(eds__pop *q)
{
    if (q->drive)
        return EDS_OK;
    uint32_t n = q->n;
    eds__drive *d = calloc(1, sizeof *d);
    if (!d)
        return EDS_NOMEM;
    d->src_pop = malloc(n * sizeof(uint32_t));
    d->src_id = calloc(n, sizeof(uint32_t));
    d->group = calloc(n, sizeof(uint64_t));
    d->draws = calloc(n, sizeof(uint64_t));
    d->last_spike = calloc(n, sizeof(double));
    d->buf = calloc((size_t)n * EDS__DRIVE_K, sizeof(double));
    d->block = calloc((size_t)n * 4, sizeof(uint64_t));
    d->block_k = calloc(n, sizeof(uint64_t));
    d->wake_left = calloc(n, 1);
    d->head = calloc(n, 1);
    d->count = calloc(n, 1);
    d->done = calloc(n, 1);
    if (!d->src_pop || !d->src_id || !d->group || !d->draws || !d->last_spike || !d->buf ||
        !d->block || !d->block_k || !d->wake_left || !d->head || !d->count || !d->done) {
        drive_free(d);
        return EDS_NOMEM;
    }
    for (uint32_t j = 0; j < n; j++)
        d->src_pop[j] = EDS__NO_DRIVE;
    q->drive = d;
    return EDS_OK;
}

/* Whether Poisson population `pi` can be fused: see the top of this file. */
/* The target of source s's first synapse (its only one, in a fusable population). */
static uint32_t first_target(const eds_sim *sim, uint32_t s)
{
    return sim->syn_target[sim->grp_start[sim->grp_of[s]]] & EDS__TARGET_MASK;
}

static int fusable(const eds_sim *sim, uint32_t pi)
{
    const eds__pop *p = &sim->pops[pi];
    if (p->kind != EDS__POP_POISSON || !(p->rate > 0.0) || p->start < sim->now)
        return 0;
    for (uint32_t s = p->first; s < p->first + p->n; s++) {
        uint64_t g = sim->grp_of[s];
        if (sim->recorded[s] || sim->grp_of[s + 1] != g + 1 || sim->grp_start[g + 1] != sim->grp_start[g] + 1)
            return 0;
        uint64_t syn = sim->grp_start[g];
        uint32_t target = first_target(sim, s);
        const eds__pop *q = &sim->pops[sim->pop_of[target]];
        if (q->kind != EDS__POP_DELTA || !(q->exact.v_inf <= q->exact.p.v_thresh) ||
            !(sim->syn_weight[syn] > 0.0f))
            return 0;
        if (q->drive && q->drive->src_pop[target - q->first] != EDS__NO_DRIVE)
            return 0;
    }
    return 1;
}

int eds__drive_fuse(eds_sim *sim)
{
    for (uint32_t pi = 0; pi < sim->n_pops; pi++) {
        if (!fusable(sim, pi))
            continue;
        eds__pop *p = &sim->pops[pi];
        /* mark first, so that a duplicate target within p is caught below */
        int ok = 1;
        for (uint32_t s = p->first; s < p->first + p->n && ok; s++) {
            uint32_t target = first_target(sim, s);
            eds__pop *q = &sim->pops[sim->pop_of[target]];
            EDS_CHECK(drive_alloc(q));
            uint32_t j = target - q->first;
            if (q->drive->src_pop[j] != EDS__NO_DRIVE) {
                ok = 0; /* a neuron with two sources of p: undo below */
                break;
            }
            q->drive->src_pop[j] = pi;
            q->drive->src_id[j] = s;
            q->drive->group[j] = sim->grp_of[s];
            q->drive->last_spike[j] = p->start;
        }
        if (!ok) {
            for (uint32_t s = p->first; s < p->first + p->n; s++) {
                uint32_t target = first_target(sim, s);
                eds__pop *q = &sim->pops[sim->pop_of[target]];
                uint32_t j = target - q->first;
                if (q->drive && q->drive->src_pop[j] == pi && q->drive->src_id[j] == s)
                    q->drive->src_pop[j] = EDS__NO_DRIVE;
            }
            continue;
        }
        p->fused = 1;
        sim->stats.n_fused_sources += p->n;
    }
    return EDS_OK;
}
