/* Closed-loop control: inputs staged between runs, parameters and weights changed between runs,
 * and the switches a real-time runner sheds work with.
 *
 * What it owns:
 *   - staged inputs: eds_sim_inject appends spikes to spike sources but schedules nothing; the
 *     next eds_sim_run hands them to the queue first (eds__control_before_run), source by source
 *     in a canonical order, (time of the source's last emission, id). Every event of one
 *     uninterrupted run that feeds a source its next spike is pushed when the source's previous
 *     spike pops; ordering the staged sources by that same pop reproduces the uninterrupted
 *     run's order of equal-time source spikes. Hence any sequence of inject calls between two
 *     runs acts as one, and a loop that injects before each step the spikes falling inside that
 *     step gives bit for bit the spikes of one run with all of them given up front. A source
 *     whose next pending spike is unchanged by the new ones keeps its queued event (its place in
 *     the order), so injecting further ahead is exact too unless two sources spike at exactly
 *     the same time;
 *   - parameter changes of whole populations: neurons are first brought to now under the old
 *     parameters (exact at t_last, so nothing is lost), then the parameters change and firing is
 *     predicted again; refractory neurons keep the end of their refractory period;
 *   - tracked synapses: a staged range whose CSR positions are recorded at the freeze, so its
 *     weights can be read and changed by edge; a change acts on every delivery after the call,
 *     spikes already in flight included;
 *   - shedding: spike recording of an id range can be shed (spikes counted, not stored) and a
 *     sampler paused (its sample times pass, rows counted, nothing computed). Neither changes
 *     the simulation.
 * Validation comes before any mutation: a rejected call changes nothing. A failure after the
 * first change (out of memory) marks the simulation failed, as everywhere in the core.
 */
#include <math.h>

#include "internal.h"

/* ---- staged inputs ---- */

static int ensure_spike_state(eds__pop *p)
{
    if (p->emitted_at)
        return EDS_OK;
    p->emitted_at = calloc(p->n, sizeof(uint64_t));
    p->staged = calloc(p->n, sizeof(uint8_t));
    p->staged_head = malloc((size_t)p->n * sizeof(double));
    if (!p->emitted_at || !p->staged || !p->staged_head) {
        free(p->emitted_at);
        free(p->staged);
        free(p->staged_head);
        p->emitted_at = NULL;
        p->staged = NULL;
        p->staged_head = NULL;
        return EDS_NOMEM;
    }
    for (uint32_t j = 0; j < p->n; j++)
        p->staged_head[j] = INFINITY;
    return EDS_OK;
}

int eds_sim_inject(eds_sim *sim, size_t n, const uint32_t *ids, const double *times)
{
    if (!sim || (n && (!ids || !times)))
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    for (size_t k = 0; k < n; k++) {
        if (ids[k] >= sim->n_ids)
            return EDS_RANGE;
        if (sim->pops[sim->pop_of[ids[k]]].kind != EDS__POP_SPIKES)
            return EDS_INVALID;
        if (!isfinite(times[k]))
            return EDS_INVALID;
        if (times[k] < sim->now)
            return EDS_CAUSALITY;
    }
    for (size_t k = 0; k < n; k++) {
        eds__pop *p = &sim->pops[sim->pop_of[ids[k]]];
        uint32_t j = ids[k] - p->first;
        int rc = ensure_spike_state(p);
        if (rc == EDS_OK && !p->staged[j]) {
            rc = eds__grow((void **)&sim->ctl.dirty, &sim->ctl.cap_dirty, sim->ctl.n_dirty + 1,
                           sizeof(uint32_t));
            if (rc == EDS_OK) {
                sim->ctl.dirty[sim->ctl.n_dirty++] = ids[k];
                p->staged[j] = 1;
                p->staged_head[j] = p->cursor[j] < p->n_times[j] ? p->times[j][p->cursor[j]]
                                                                 : INFINITY;
            }
        }
        if (rc == EDS_OK)
            rc = eds__grow((void **)&p->times[j], &p->cap_times[j], p->n_times[j] + 1,
                           sizeof(double));
        if (rc != EDS_OK) {
            sim->failed = 1;
            return rc;
        }
        p->times[j][p->n_times[j]++] = times[k];
    }
    return EDS_OK;
}

/* Canonical commit order of staged sources: last emission first (0 = never), then id. */
typedef struct {
    uint64_t emitted_at;
    uint32_t id;
} staged_key;

static int cmp_staged(const void *a, const void *b)
{
    const staged_key *x = a, *y = b;
    if (x->emitted_at != y->emitted_at)
        return x->emitted_at < y->emitted_at ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int commit_inputs(eds_sim *sim)
{
    uint64_t n = sim->ctl.n_dirty;
    if (n == 0)
        return EDS_OK;
    staged_key *keys = malloc((size_t)n * sizeof *keys);
    if (!keys)
        return EDS_NOMEM;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t id = sim->ctl.dirty[k];
        const eds__pop *p = &sim->pops[sim->pop_of[id]];
        keys[k].emitted_at = p->emitted_at[id - p->first];
        keys[k].id = id;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_staged);
    int rc = EDS_OK;
    for (uint64_t k = 0; k < n && rc == EDS_OK; k++) {
        eds__pop *p = &sim->pops[sim->pop_of[keys[k].id]];
        uint32_t j = keys[k].id - p->first;
        uint64_t c = p->cursor[j];
        qsort(p->times[j] + c, (size_t)(p->n_times[j] - c), sizeof(double), eds__cmp_double);
        p->staged[j] = 0;
        /* the queued EMIT (if any) stands for times[cursor]: keep it while that value stands */
        if (p->times[j][c] == p->staged_head[j])
            continue;
        p->gen[j]++;
        rc = eds__spikes_schedule(sim, p, j);
    }
    sim->ctl.n_dirty = 0;
    free(keys);
    return rc;
}

int eds__control_before_run(eds_sim *sim)
{
    if (!sim->started)
        for (uint32_t i = 0; i < sim->n_pops; i++)
            if (sim->pops[i].kind == EDS__POP_SPIKES)
                EDS_CHECK(ensure_spike_state(&sim->pops[i]));
    return commit_inputs(sim);
}

/* ---- parameters ---- */

/* The population whose first id is `first`: parameters belong to whole populations. */
static int whole_pop(eds_sim *sim, uint32_t first, eds__pop **out)
{
    if (first >= sim->n_ids)
        return EDS_RANGE;
    eds__pop *p = &sim->pops[sim->pop_of[first]];
    if (p->first != first)
        return EDS_INVALID;
    *out = p;
    return EDS_OK;
}

/* Brings every neuron of event-driven population p to now under its current parameters: state
 * exact at t_last = now; refractory neurons only decay their synaptic variables (v is clamped). */
static int bring_to_now(eds_sim *sim, eds__pop *p)
{
    const double now = sim->now;
    for (uint32_t j = 0; j < p->n; j++) {
        EDS_CHECK(eds__drive_catch_up(sim, p, j, now)); /* a fused drive's arrivals first */
        if (!p->xd && !(now > p->t_last[j]))
            continue; /* already there (an advance by 0 could round v) */
        double out[3];
        EDS_CHECK(eds__state_at(sim, p, j, now, 0, out));
        if (now > p->refr_until[j])
            p->v[j] = out[0];
        p->s1[j] = out[1];
        p->s2[j] = out[2];
        p->t_last[j] = now;
    }
    return EDS_OK;
}

/* Predicts again every neuron of p that is not refractory (refractory ones predict at the end). */
static int predict_again(eds_sim *sim, eds__pop *p)
{
    for (uint32_t j = 0; j < p->n; j++) {
        if (!(sim->now > p->refr_until[j]))
            continue;
        uint32_t id = p->first + j;
        EDS_CHECK(eds_sim_set_state(sim, id, 1, &p->v[j], &p->s1[j], &p->s2[j]));
    }
    return EDS_OK;
}

int eds_sim_set_curr_params(eds_sim *sim, uint32_t first, const eds_curr_params *params)
{
    if (!sim || !params)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    eds__pop *p;
    EDS_CHECK(whole_pop(sim, first, &p));
    if (p->kind != EDS__POP_CURR && p->kind != EDS__POP_DELTA)
        return EDS_INVALID;
    eds__exact m;
    EDS_CHECK(eds__exact_init(&m, params, p->kind == EDS__POP_DELTA));
    if (p->drive && !(m.v_inf <= params->v_thresh))
        return EDS_INVALID; /* a fused Poisson drive needs cells that cannot fire without input */
    int rc = bring_to_now(sim, p);
    if (rc == EDS_OK) {
        eds__xd_leave(sim, p); /* v[j], t_last[j] hold the state now */
        p->exact = m;
        if (p->kind == EDS__POP_DELTA && m.v_inf > params->v_thresh)
            rc = eds__xd_init(p, sim->now);
    }
    if (rc == EDS_OK) {
        if (p->kind == EDS__POP_CURR) {
            eds__curr_epoch_reset(p, sim->now); /* the factors are the old time constants' */
            p->tau1 = params->tau_syn_e;
            p->tau2 = params->tau_syn_i;
        }
        p->v_reset = params->v_reset;
        p->tau_refrac = params->tau_refrac;
        rc = predict_again(sim, p);
    }
    if (rc != EDS_OK)
        sim->failed = 1;
    return rc;
}

int eds_sim_set_cond_lut(eds_sim *sim, uint32_t first, const eds_cond_lut *lut)
{
    if (!sim || !lut)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    eds__pop *p;
    EDS_CHECK(whole_pop(sim, first, &p));
    if (p->kind != EDS__POP_COND)
        return EDS_INVALID;
    int rc = bring_to_now(sim, p);
    if (rc == EDS_OK) {
        eds__cond_rebase(p, sim->now); /* g = the conductances now, valid under any tau */
        p->lut = lut;
        p->tau1 = lut->tab.tau_syn_e;
        p->tau2 = lut->tab.tau_syn_i;
        p->v_reset = lut->tab.v_reset;
        p->tau_refrac = lut->tab.tau_refrac;
        rc = predict_again(sim, p);
    }
    if (rc != EDS_OK)
        sim->failed = 1;
    return rc;
}

int eds_sim_set_reset(eds_sim *sim, uint32_t first, double v_reset, double tau_refrac)
{
    if (!sim)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    eds__pop *p;
    EDS_CHECK(whole_pop(sim, first, &p));
    double v_thresh;
    switch (p->kind) {
    case EDS__POP_COND:
        v_thresh = p->lut->tab.v_thresh;
        break;
    case EDS__POP_GEN:
        v_thresh = p->glut->tab.v_thresh;
        break;
    case EDS__POP_CURR:
    case EDS__POP_DELTA:
        v_thresh = p->exact.p.v_thresh;
        break;
    default:
        return EDS_INVALID;
    }
    if (!isfinite(v_reset) || !(v_reset < v_thresh) || !isfinite(tau_refrac) ||
        !(tau_refrac >= 0.0))
        return EDS_INVALID;
    /* v_reset and tau_refrac do not enter the dynamics between events: neurons refractory now
     * keep their end time and are held at, then released at, the new v_reset */
    p->v_reset = v_reset;
    p->tau_refrac = tau_refrac;
    if (p->kind == EDS__POP_CURR || p->kind == EDS__POP_DELTA) {
        p->exact.p.v_reset = v_reset;
        p->exact.p.tau_refrac = tau_refrac;
    }
    return EDS_OK;
}

int eds_sim_set_clock_params(eds_sim *sim, uint32_t first, const double *params,
                             uint32_t n_params)
{
    if (!sim || (!params && n_params))
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    eds__pop *p;
    EDS_CHECK(whole_pop(sim, first, &p));
    if (p->kind != EDS__POP_CLOCK)
        return EDS_INVALID;
    if (n_params != p->clock->n_params)
        return EDS_INVALID;
    for (uint32_t i = 0; i < n_params; i++)
        if (!isfinite(params[i]))
            return EDS_INVALID;
    EDS_CHECK(p->clock->check(params));
    if (n_params)
        memcpy(p->params, params, n_params * sizeof(double));
    return EDS_OK;
}

/* ---- synaptic weights ---- */

int eds_sim_track_synapses(eds_sim *sim, uint64_t first, uint64_t n, uint32_t *track)
{
    if (!sim || !track)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    if (sim->started)
        return EDS_STATE; /* positions are recorded at the freeze */
    if (first > sim->n_staged || n > sim->n_staged - first)
        return EDS_RANGE;
    if (sim->ctl.n_tracks == UINT32_MAX)
        return EDS_OVERFLOW;
    eds__track *grown = realloc(sim->ctl.tracks, (sim->ctl.n_tracks + 1) * sizeof *grown);
    if (!grown)
        return EDS_NOMEM;
    sim->ctl.tracks = grown;
    eds__track *t = &sim->ctl.tracks[sim->ctl.n_tracks];
    t->first = first;
    t->n = n;
    t->pos = NULL;
    *track = sim->ctl.n_tracks++;
    return EDS_OK;
}

int eds__control_wants_positions(const eds_sim *sim)
{
    return sim->ctl.n_tracks > 0;
}

int eds__control_frozen(eds_sim *sim, const uint64_t *pos_of_staged)
{
    for (uint32_t k = 0; k < sim->ctl.n_tracks; k++) {
        eds__track *t = &sim->ctl.tracks[k];
        t->pos = malloc((size_t)(t->n ? t->n : 1) * sizeof(uint64_t));
        if (!t->pos)
            return EDS_NOMEM;
        for (uint64_t e = 0; e < t->n; e++) {
            uint64_t s = t->first + e, at = pos_of_staged[s];
            /* the CSR must hold this very synapse there: same target, receptor and weight */
            uint32_t word = sim->s_post[s] | ((uint32_t)sim->s_rec[s] << EDS__RECEPTOR_SHIFT);
            if (sim->syn_target[at] != word || sim->syn_weight[at] != sim->s_w[s])
                return EDS_STATE;
            t->pos[e] = at;
        }
        sim->stats.bytes_synapses += t->n * sizeof(uint64_t);
    }
    return EDS_OK;
}

/* Checks a track and its edge indices (NULL: every edge of the track, n must be its size). */
static int check_edges(const eds_sim *sim, uint32_t track, uint64_t n, const uint64_t *edges,
                       const eds__track **out)
{
    if (track >= sim->ctl.n_tracks)
        return EDS_RANGE;
    const eds__track *t = &sim->ctl.tracks[track];
    if (!edges && n != t->n)
        return EDS_INVALID;
    if (edges)
        for (uint64_t k = 0; k < n; k++)
            if (edges[k] >= t->n)
                return EDS_RANGE;
    if (sim->started && !t->pos)
        return EDS_STATE;
    *out = t;
    return EDS_OK;
}

/* Where edge e of track t lives: its weight and its target word (target | receptor bits). */
static float *weight_of(const eds_sim *sim, const eds__track *t, uint64_t e, uint32_t *target)
{
    if (sim->started) {
        *target = sim->syn_target[t->pos[e]] & EDS__TARGET_MASK;
        return &sim->syn_weight[t->pos[e]];
    }
    *target = sim->s_post[t->first + e];
    return &sim->s_w[t->first + e];
}

int eds_sim_get_weights(const eds_sim *sim, uint32_t track, uint64_t n, const uint64_t *edges,
                        float *weights)
{
    if (!sim || (n && !weights))
        return EDS_NULLPTR;
    const eds__track *t;
    EDS_CHECK(check_edges(sim, track, n, edges, &t));
    for (uint64_t k = 0; k < n; k++) {
        uint32_t target;
        weights[k] = *weight_of(sim, t, edges ? edges[k] : k, &target);
    }
    return EDS_OK;
}

int eds_sim_set_weights(eds_sim *sim, uint32_t track, uint64_t n, const uint64_t *edges,
                        const float *weights)
{
    if (!sim || (n && !weights))
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    const eds__track *t;
    EDS_CHECK(check_edges(sim, track, n, edges, &t));
    for (uint64_t k = 0; k < n; k++) {
        uint32_t target;
        weight_of(sim, t, edges ? edges[k] : k, &target);
        if (!isfinite(weights[k]))
            return EDS_INVALID;
        if (sim->pops[sim->pop_of[target]].kind == EDS__POP_COND && !(weights[k] >= 0.0f))
            return EDS_INVALID; /* as eds_sim_add_synapses */
    }
    for (uint64_t k = 0; k < n; k++) {
        uint32_t target;
        *weight_of(sim, t, edges ? edges[k] : k, &target) = weights[k];
    }
    return EDS_OK;
}

/* ---- shedding ---- */

int eds_sim_shed_recording(eds_sim *sim, uint32_t first, uint32_t n, int shed)
{
    if (!sim)
        return EDS_NULLPTR;
    if (first >= sim->n_ids || n > sim->n_ids - first)
        return EDS_RANGE;
    for (uint32_t i = first; i < first + n; i++)
        if (sim->recorded[i])
            sim->recorded[i] = shed ? EDS__REC_SHED : 1;
    return EDS_OK;
}

int eds_sim_pause_sampler(eds_sim *sim, uint32_t sampler, int paused)
{
    if (!sim)
        return EDS_NULLPTR;
    if (sampler >= sim->n_samplers)
        return EDS_RANGE;
    sim->samplers[sampler].paused = paused ? 1 : 0;
    return EDS_OK;
}

int eds_sim_shed_counts(const eds_sim *sim, uint64_t *spikes_not_recorded,
                        uint64_t *sample_rows_skipped)
{
    if (!sim || !spikes_not_recorded || !sample_rows_skipped)
        return EDS_NULLPTR;
    *spikes_not_recorded = sim->ctl.n_spikes_shed;
    uint64_t rows = 0;
    for (uint32_t i = 0; i < sim->n_samplers; i++)
        rows += sim->samplers[i].n_skipped;
    *sample_rows_skipped = rows;
    return EDS_OK;
}

int eds_sim_sampler_skipped(const eds_sim *sim, uint32_t sampler, uint64_t *rows)
{
    if (!sim || !rows)
        return EDS_NULLPTR;
    if (sampler >= sim->n_samplers)
        return EDS_RANGE;
    *rows = sim->samplers[sampler].n_skipped;
    return EDS_OK;
}

void eds__control_free(eds_sim *sim)
{
    for (uint32_t i = 0; i < sim->n_pops; i++) {
        free(sim->pops[i].emitted_at);
        free(sim->pops[i].staged);
        free(sim->pops[i].staged_head);
    }
    free(sim->ctl.dirty);
    for (uint32_t k = 0; k < sim->ctl.n_tracks; k++)
        free(sim->ctl.tracks[k].pos);
    free(sim->ctl.tracks);
}
