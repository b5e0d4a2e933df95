/* The simulation handle and its run loop.
 *
 * Owns populations (neuron state as structure-of-arrays), the event queue and the dispatch of
 * events. Neurons are event-driven (IF_cond_exp and models declared by their equations from
 * tables, IF_curr_exp and IF_curr_delta in closed form) or time-driven (clock.c, one STEP
 * event per population and step). Invariants:
 *   - every event in the queue has t >= now; the loop pops in (t, rank, seq) order only;
 *   - an event-driven neuron's state (v, s1, s2) is exact at t_last; v is clamped at v_reset
 *     while t < refr_until; its one pending event of its own (FIRE, REFRAC_END or RECHECK)
 *     sits in the neuron queue and is re-keyed in place by each new prediction, so none is stale
 *     (a REFRAC_END may wait in its population's line until the line's head, see refrac_advance);
 *   - a time-driven neuron's state is at the start of its population's step under way; the
 *     inputs of that step wait in a buffer until the STEP event at its end;
 *   - after a failed call that mutates the simulation, every later call returns EDS_STATE.
 *
 * The run loop, per popped event:
 *   FIRE        record, reset, schedule the first delay group, start refractoriness
 *   EMIT        record, schedule the first delay group, schedule the source's next spike
 *   REFRAC_END  release v at v_reset, predict
 *   DELIVER     apply one delay group to its targets (each: advance, add weight, predict),
 *               schedule the source's next delay group
 *   SAMPLE      sample the sampler's neurons, schedule the next sample
 *   STEP        integrate a time-driven population over the step ending now, split at its
 *               inputs' arrival times; send its spikes; schedule the next step's end
 *   RECHECK     advance to the horizon reached, predict again
 */
#include <math.h>

#include "internal.h"
#include "numerics.h"

int eds_sim_new(uint64_t seed, eds_sim **out)
{
    if (!out)
        return EDS_NULLPTR;
    eds_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return EDS_NOMEM;
    sim->seed = seed;
    *out = sim;
    return EDS_OK;
}

static void pop_free(eds__pop *p)
{
    eds__drive_free(p);
    free(p->v);
    free(p->s1);
    free(p->s2);
    free(p->params);
    free(p->x);
    free(p->in_j);
    free(p->in_t);
    free(p->in_w);
    free(p->in_r);
    free(p->in_order);
    free(p->in_start);
    free(p->t_last);
    free(p->refr_until);
    free(p->gen);
    free(p->late_fire);
    free(p->g);
    free(p->refrac.ev);
    free(p->ep_g);
    free(p->ep_at);
    eds__xd_free(p);
    if (p->times)
        for (uint32_t j = 0; j < p->n; j++)
            free(p->times[j]);
    free(p->times);
    free(p->n_times);
    free(p->cap_times);
    free(p->cursor);
}

void eds_sim_free(eds_sim *sim)
{
    if (!sim)
        return;
    eds__control_free(sim);
    for (uint32_t i = 0; i < sim->n_pops; i++)
        pop_free(&sim->pops[i]);
    free(sim->pops);
    free(sim->pop_of);
    free(sim->recorded);
    eds__queue_free(&sim->queue);
    eds__nqueue_free(&sim->nqueue);
    eds__synapses_free(sim);
    eds__record_free(sim);
    free(sim);
}

double eds_sim_now(const eds_sim *sim)
{
    return sim ? sim->now : 0.0;
}

uint32_t eds_sim_n_ids(const eds_sim *sim)
{
    return sim ? sim->n_ids : 0;
}

int eds_sim_stats(const eds_sim *sim, eds_stats *out)
{
    if (!sim || !out)
        return EDS_NULLPTR;
    *out = sim->stats;
    out->heap_size = sim->queue.size + sim->nqueue.size;
    for (uint32_t f = 0; f < sim->n_fifos; f++) /* deliveries waiting behind their line's head */
        out->heap_size += sim->fifos[f].count ? sim->fifos[f].count - 1 : 0;
    out->heap_max = sim->queue.max_size + sim->nqueue.max_size; /* sum of the maxima */
    for (uint32_t k = 0; k < sim->n_pops; k++) { /* REFRAC_ENDs waiting behind their line's head */
        const eds__pop *p = &sim->pops[k];
        for (uint64_t i = 1; i < p->refrac.count; i++) {
            const eds__event *e = &p->refrac.ev[(p->refrac.head + i) % p->refrac.cap];
            out->heap_size += p->refr_until[e->id - p->first] == e->t; /* (not ended early) */
        }
    }
    for (uint32_t k = 0; k < sim->n_pops; k++) {
        /* a deferred cond_exp prediction counts as what it will find: an event, or none */
        const eds__pop *p = &sim->pops[k];
        if (p->kind != EDS__POP_COND)
            continue;
        for (uint32_t j = 0; j < p->n; j++) {
            double when;
            int recheck;
            if (p->late_fire[j] && eds__nqueue_has(&sim->nqueue, p->first + j) &&
                eds__cond_predict(p->lut, p->v[j], p->s1[j], p->s2[j], &when, &recheck, NULL) ==
                    EDS_OK && isinf(when))
                out->heap_size--;
        }
    }
    for (uint32_t k = 0; k < sim->n_pops; k++)
        if (sim->pops[k].xd) { /* the cells waiting behind their population's first */
            const eds__xd *xd = sim->pops[k].xd;
            out->heap_size += xd->size ? xd->size - 1 : 0;
            out->heap_max += xd->max_size;
        }
    return EDS_OK;
}

static int line_ordered(const eds__fifo *line)
{
    for (uint64_t k = 1; k < line->count; k++) {
        const eds__event *a = &line->ev[(line->head + k - 1) % line->cap];
        const eds__event *b = &line->ev[(line->head + k) % line->cap];
        if (b->t < a->t || (b->t == a->t && b->key < a->key))
            return EDS_STATE;
    }
    return EDS_OK;
}

int eds_sim_check_queue(const eds_sim *sim)
{
    if (!sim)
        return EDS_NULLPTR;
    EDS_CHECK(eds__queue_check(&sim->queue));
    for (uint32_t f = 0; f < sim->n_fifos; f++)
        EDS_CHECK(line_ordered(&sim->fifos[f]));
    for (uint32_t k = 0; k < sim->n_pops; k++) {
        const eds__pop *p = &sim->pops[k];
        EDS_CHECK(line_ordered(&p->refrac));
        if (p->refrac.count) { /* the head: valid, in its neuron's slot with its own key */
            const eds__event *h = eds__fifo_head(&p->refrac);
            if (!eds__nqueue_has(&sim->nqueue, h->id))
                return EDS_STATE;
            const eds__nentry *e = eds__nqueue_entry(&sim->nqueue, h->id);
            if (p->refr_until[h->id - p->first] != h->t || e->key != h->key || e->t != h->t)
                return EDS_STATE;
        }
        if (p->xd)
            EDS_CHECK(eds__xd_check(sim, p));
    }
    return eds__nqueue_check(&sim->nqueue);
}

/* Pushes an event, refusing one in the past. */
static int schedule(eds_sim *sim, double t, int kind, uint32_t id, uint32_t aux, double aux_t)
{
    if (!(t >= sim->now))
        return EDS_CAUSALITY;
    return eds__queue_push(&sim->queue, t, kind, id, aux, aux_t);
}

/* ---- populations ---- */

static int add_pop(eds_sim *sim, int kind, uint32_t n, eds__pop **out, uint32_t *first_id)
{
    if (sim->failed)
        return EDS_STATE;
    if (n == 0)
        return EDS_INVALID;
    if ((uint64_t)sim->n_ids + n > EDS__TARGET_MASK)
        return EDS_OVERFLOW;
    if (sim->started)
        return EDS_STATE;
    eds__pop *grown = realloc(sim->pops, (sim->n_pops + 1) * sizeof *grown);
    if (!grown)
        return EDS_NOMEM;
    sim->pops = grown;
    uint32_t new_ids = sim->n_ids + n;
    uint32_t *pop_of = realloc(sim->pop_of, new_ids * sizeof(uint32_t));
    if (!pop_of)
        return EDS_NOMEM;
    sim->pop_of = pop_of;
    uint8_t *rec = realloc(sim->recorded, new_ids);
    if (!rec)
        return EDS_NOMEM;
    EDS_CHECK(eds__nqueue_reserve(&sim->nqueue, new_ids));
    sim->recorded = rec;
    eds__pop *p = &sim->pops[sim->n_pops];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->first = sim->n_ids;
    p->n = n;
    p->gen = calloc(n, sizeof(uint32_t));
    if (!p->gen)
        return EDS_NOMEM;
    for (uint32_t i = sim->n_ids; i < new_ids; i++) {
        pop_of[i] = sim->n_pops;
        rec[i] = 0;
    }
    sim->n_pops++;
    sim->n_ids = new_ids;
    *out = p;
    *first_id = p->first;
    return EDS_OK;
}

/* ---- event-driven neurons ---- */

#define EDS__COND_EPOCH 32.0

void eds__cond_rebase(eds__pop *p, double t)
{
    double f1 = exp(-(t - p->ep_t0) / p->tau1), f2 = exp(-(t - p->ep_t0) / p->tau2);
    for (uint32_t j = 0; j < p->n; j++) {
        p->g[2 * j] *= f1;
        p->g[2 * j + 1] *= f2;
    }
    p->ep_t0 = t;
    p->ep_t = NAN;
}

/* The epoch factors of COND population p at t >= its epoch, cached for the inputs at the same t. */
static inline void cond_epoch(eds__pop *p, double t)
{
    if (t == p->ep_t)
        return;
    if (t - p->ep_t0 > EDS__COND_EPOCH * (p->tau1 < p->tau2 ? p->tau1 : p->tau2))
        eds__cond_rebase(p, t);
    p->ep_f1 = exp(-(t - p->ep_t0) / p->tau1);
    p->ep_f2 = exp(-(t - p->ep_t0) / p->tau2);
    p->ep_r1 = exp((t - p->ep_t0) / p->tau1);
    p->ep_r2 = exp((t - p->ep_t0) / p->tau2);
    p->ep_t = t;
}

/* (v, s1, s2) of event-driven neuron j after dt >= 0 without input or refractoriness. */
static int ev_advance(const eds__pop *p, uint32_t j, double dt, double *v, double *s1, double *s2,
                      eds_stats *stats)
{
    if (p->kind == EDS__POP_COND)
        return eds__cond_advance(p->lut, p->v[j], p->s1[j], p->s2[j], dt, v, s1, s2, stats);
    if (p->kind == EDS__POP_GEN)
        return eds__gen_advance(p->glut, p->v[j], p->s1[j], p->s2[j], dt, v, s1, s2, stats);
    if (!(dt >= 0.0))
        return EDS_INVALID;
    double out[3]; /* (the outputs may be p's own arrays) */
    eds__exact_advance(&p->exact, p->v[j], p->s1[j], p->s2[j], dt, out);
    *v = out[0];
    *s1 = out[1];
    *s2 = out[2];
    return EDS_OK;
}

/* The epoch of CURR population p's input factors (internal.h) moves to t: no cell's are valid. */
void eds__curr_epoch_reset(eds__pop *p, double t)
{
    p->ep_t0 = t;
    p->ep_t = NAN;
    for (uint32_t j = 0; j < p->n; j++)
        p->ep_at[j] = NAN;
}

/* The epoch's length in fastest time constants. 16 moves it every 80 ms on benchmark 2, where a
 * cell gets ~33 inputs in that time: 3 % of the inputs then pay the three exps. */
#define CURR_EPOCH 16.0

/* e^{sign x / tau} (sign = +-1) for x = x_hi + x_lo exactly, 0 <= x <= CURR_EPOCH tau, within
 * ~1 ulp: q = x_hi / tau is rounded, and the exp would amplify that to up to CURR_EPOCH / 2 ulp;
 * the exact remainder x - q tau (Dekker's product: its leading part cancels exactly) undoes it
 * to first order. An input's e^{-dt/tau}, a product of two of these, errs by < 2 ulp (random
 * trials against 40-digit decimals), as ev_advance's eds__exp(-r dt) does with the rounding of
 * r dt. */
static double epoch_exp(double x_hi, double x_lo, double tau, double sign)
{
    const double split = 134217729.0; /* 2^27 + 1: halves of 26 bits, their products exact */
    const double q = x_hi / tau, p = q * tau;
    const double qs = split * q, qh = qs - (qs - q), ql = q - qh;
    const double ts = split * tau, th = ts - (ts - tau), tl = tau - th;
    const double p_lo = ((qh * th - p) + qh * tl + ql * th) + ql * tl; /* q tau = p + p_lo */
    const double c = (((x_hi - p) - p_lo) + x_lo) / tau;              /* x / tau = q + c */
    const double e = eds__exp(sign * q);
    return e + e * (sign * c);
}

/* CURR neuron j (separated form) advanced to an input at t >= t_last: ev_advance's state, with
 * the exps taken from the epoch factors when the cell's are valid. */
static int curr_advance(eds__pop *p, uint32_t j, double t)
{
    const eds__exact *m = &p->exact;
    const double dt = t - p->t_last[j];
    if (!(dt >= 0.0))
        return EDS_INVALID;
    if (t != p->ep_t) {
        const double fastest = fmin(m->p.tau_m, fmin(m->p.tau_syn_e, m->p.tau_syn_i));
        if (!(t - p->ep_t0 >= 0.0 && t - p->ep_t0 <= CURR_EPOCH * fastest))
            eds__curr_epoch_reset(p, t);
        /* t - t0 = x + x_lo exactly (Knuth's two-sum): not always exact in a double */
        const double x = t - p->ep_t0, b = x - t, x_lo = (t - (x - b)) + (-p->ep_t0 - b);
        const double tau[3] = {m->p.tau_m, m->p.tau_syn_e, m->p.tau_syn_i};
        for (int k = 0; k < 3; k++) {
            p->ep_h[k] = epoch_exp(x, x_lo, tau[k], -1.0);
            p->ep_gt[k] = epoch_exp(x, x_lo, tau[k], 1.0);
        }
        p->ep_t = t;
    }
    double *g = p->ep_g + 3 * (size_t)j;
    if (dt > 0.0) { /* (an advance by 0 keeps the state as it is, as ev_advance's does) */
        double out[3];
        if (p->ep_at[j] == p->t_last[j]) {
            const double e[3] = {p->ep_h[0] * g[0], p->ep_h[1] * g[1], p->ep_h[2] * g[2]};
            eds__exact_advance_by(m, p->v[j], p->s1[j], p->s2[j], e, out);
        } else {
            eds__exact_advance(m, p->v[j], p->s1[j], p->s2[j], dt, out);
        }
        p->v[j] = out[0];
        p->s1[j] = out[1];
        p->s2[j] = out[2];
    }
    g[0] = p->ep_gt[0];
    g[1] = p->ep_gt[1];
    g[2] = p->ep_gt[2];
    p->ep_at[j] = p->t_last[j] = t;
    return EDS_OK;
}

/* Sets neuron id's one pending event (replacing any), refusing one in the past. */
static int neuron_schedule(eds_sim *sim, uint32_t id, double t, int kind)
{
    if (!(t >= sim->now))
        return EDS_CAUSALITY;
    if (sim->queue.seq >= ((uint64_t)1 << 56))
        return EDS_OVERFLOW;
    eds__nqueue_set(&sim->nqueue, id, t, ((uint64_t)kind << 56) | sim->queue.seq++);
    return EDS_OK;
}

/* Drops the refractory periods that ended early (a state set) from the head of p's REFRAC_END
 * line and gives the first still valid one its neuron's slot, with the key it was made with. */
static void refrac_advance(eds_sim *sim, eds__pop *p)
{
    eds__fifo *line = &p->refrac;
    while (line->count) {
        const eds__event *h = eds__fifo_head(line);
        if (p->refr_until[h->id - p->first] == h->t) {
            if (!eds__nqueue_has(&sim->nqueue, h->id)) {
                eds__nqueue_set(&sim->nqueue, h->id, h->t, h->key);
                return;
            }
            if (eds__nqueue_entry(&sim->nqueue, h->id)->key == h->key)
                return; /* in its slot already */
        }
        eds__fifo_pop(line);
    }
}

/* Neuron j's REFRAC_END at refr_until[j]: on its population's line, or in its slot directly. */
static int refrac_schedule(eds_sim *sim, eds__pop *p, uint32_t j)
{
    eds__fifo *line = &p->refrac;
    double t = p->refr_until[j];
    if (line->count && t < eds__fifo_tail(line)->t)
        return neuron_schedule(sim, p->first + j, t, EDS_EV_REFRAC_END);
    if (!(t >= sim->now))
        return EDS_CAUSALITY;
    if (sim->queue.seq >= ((uint64_t)1 << 56))
        return EDS_OVERFLOW;
    eds__event e = {t, ((uint64_t)EDS_EV_REFRAC_END << 56) | sim->queue.seq++, p->first + j, 0,
                    0.0};
    EDS_CHECK(eds__fifo_push(line, &e));
    if (line->count == 1)
        eds__nqueue_set(&sim->nqueue, e.id, t, e.key);
    return EDS_OK;
}

/* A neuron with a fused drive: fire now if at threshold, else wake at the first arrival that
 * could lift it there (drive.c). */
static int drive_predict(eds_sim *sim, eds__pop *p, uint32_t j)
{
    if (p->v[j] >= p->exact.p.v_thresh) {
        p->drive->wake_left[j] = 0;
        return neuron_schedule(sim, p->first + j, p->t_last[j], EDS_EV_JUMP_FIRE);
    }
    uint32_t wake;
    EDS_CHECK(eds__drive_schedule(sim, p, j, &wake));
    if (wake == UINT32_MAX) {
        eds__nqueue_remove(&sim->nqueue, p->first + j);
        return EDS_OK;
    }
    return neuron_schedule(sim, p->first + j, eds__drive_wake_time(p, j, wake), EDS_EV_RECHECK);
}

/* Inlined into its callers (GCC and Clang's attribute): on an input path that knows its
 * population's kind the dispatch folds away (benchmark 2: 4 % of the instructions). */
static inline __attribute__((always_inline)) int predict(eds_sim *sim, eds__pop *p, uint32_t j)
{
    double when;
    int recheck;
    if (p->xd)
        return eds__xd_predict(sim, p, j);
    if (p->late_fire)
        p->late_fire[j] = 0;
    if (p->kind == EDS__POP_CURR && p->exact.separated &&
        eds__exact_first_step(&p->exact, p->v[j], p->s1[j], p->s2[j], &when)) {
        sim->stats.n_predictions++; /* (no IF_curr_exp cell has a fused drive) */
        return neuron_schedule(sim, p->first + j, p->t_last[j] + when, EDS_EV_RECHECK);
    }
    if (eds__driven(p, j))
        return drive_predict(sim, p, j);
    if (p->kind == EDS__POP_COND)
        EDS_CHECK(eds__cond_predict(p->lut, p->v[j], p->s1[j], p->s2[j], &when, &recheck,
                                    &sim->stats));
    else if (p->kind == EDS__POP_GEN)
        EDS_CHECK(eds__gen_predict(p->glut, p->v[j], p->s1[j], p->s2[j], &when, &recheck,
                                   &sim->stats));
    else
        EDS_CHECK(eds__exact_predict(&p->exact, p->v[j], p->s1[j], p->s2[j], &when, &recheck,
                                     &sim->stats));
    if (isinf(when)) {
        eds__nqueue_remove(&sim->nqueue, p->first + j);
        return EDS_OK;
    }
    return neuron_schedule(sim, p->first + j, p->t_last[j] + when,
                           recheck ? EDS_EV_RECHECK : EDS_EV_FIRE);
}

static int alloc_event_driven(eds_sim *sim, eds__pop *p, double v0)
{
    uint32_t n = p->n;
    p->v = malloc(n * sizeof(double));
    p->s1 = calloc(n, sizeof(double));
    p->s2 = calloc(n, sizeof(double));
    p->t_last = malloc(n * sizeof(double));
    p->refr_until = malloc(n * sizeof(double));
    if (!p->v || !p->s1 || !p->s2 || !p->t_last || !p->refr_until) {
        sim->failed = 1;
        return EDS_NOMEM;
    }
    sim->stats.bytes_neurons += (uint64_t)n * (5 * sizeof(double) + sizeof(uint32_t));
    for (uint32_t j = 0; j < n; j++) {
        p->v[j] = v0;
        p->t_last[j] = sim->now;
        p->refr_until[j] = -INFINITY;
    }
    for (uint32_t j = 0; j < n; j++) {
        int rc = predict(sim, p, j);
        if (rc != EDS_OK) {
            sim->failed = 1;
            return rc;
        }
    }
    return EDS_OK;
}

int eds_sim_add_cond_exp(eds_sim *sim, const eds_cond_lut *lut, uint32_t n, uint32_t *first_id)
{
    if (!sim || !lut || !first_id)
        return EDS_NULLPTR;
    eds__pop *p;
    EDS_CHECK(add_pop(sim, EDS__POP_COND, n, &p, first_id));
    p->lut = lut;
    p->tau1 = lut->tab.tau_syn_e;
    p->tau2 = lut->tab.tau_syn_i;
    p->v_reset = lut->tab.v_reset;
    p->tau_refrac = lut->tab.tau_refrac;
    p->g = calloc(2 * (size_t)n, sizeof(double));
    p->late_fire = calloc(n, 1);
    if (!p->g || !p->late_fire) {
        sim->failed = 1;
        return EDS_NOMEM;
    }
    sim->stats.bytes_neurons += (uint64_t)n * (2 * sizeof(double) + 1);
    p->ep_t0 = sim->now;
    p->ep_t = NAN;
    return alloc_event_driven(sim, p, lut->tab.v_rest);
}

int eds_sim_add_gen(eds_sim *sim, const eds_gen_lut *lut, uint32_t n, uint32_t *first_id)
{
    if (!sim || !lut || !first_id)
        return EDS_NULLPTR;
    eds__pop *p;
    EDS_CHECK(add_pop(sim, EDS__POP_GEN, n, &p, first_id));
    p->glut = lut;
    p->tau1 = lut->tab.tau_s1;
    p->tau2 = lut->tab.tau_s2;
    p->v_reset = lut->tab.v_reset;
    p->tau_refrac = lut->tab.tau_refrac;
    return alloc_event_driven(sim, p, lut->tab.v_init);
}

static int add_exact(eds_sim *sim, int kind, const eds_curr_params *params, uint32_t n,
                     uint32_t *first_id)
{
    if (!sim || !params || !first_id)
        return EDS_NULLPTR;
    eds__exact m;
    EDS_CHECK(eds__exact_init(&m, params, kind == EDS__POP_DELTA));
    eds__pop *p;
    EDS_CHECK(add_pop(sim, kind, n, &p, first_id));
    p->exact = m;
    p->tau1 = kind == EDS__POP_DELTA ? 1.0 : params->tau_syn_e;
    p->tau2 = kind == EDS__POP_DELTA ? 1.0 : params->tau_syn_i;
    p->v_reset = params->v_reset;
    p->tau_refrac = params->tau_refrac;
    if (kind == EDS__POP_DELTA && m.v_inf > params->v_thresh && eds__xd_init(p, sim->now)) {
        sim->failed = 1; /* a half-made population, as below */
        return EDS_NOMEM;
    }
    if (kind == EDS__POP_CURR) {
        p->late_fire = calloc(n, 1);
        p->ep_g = malloc(3 * (size_t)n * sizeof(double));
        p->ep_at = malloc(n * sizeof(double));
        if (!p->late_fire || !p->ep_g || !p->ep_at) {
            sim->failed = 1;
            return EDS_NOMEM;
        }
        sim->stats.bytes_neurons += (uint64_t)n * (4 * sizeof(double) + 1);
        eds__curr_epoch_reset(p, sim->now);
    }
    return alloc_event_driven(sim, p, params->v_rest);
}

int eds_sim_add_curr_exp(eds_sim *sim, const eds_curr_params *params, uint32_t n,
                         uint32_t *first_id)
{
    return add_exact(sim, EDS__POP_CURR, params, n, first_id);
}

int eds_sim_add_curr_delta(eds_sim *sim, const eds_curr_params *params, uint32_t n,
                           uint32_t *first_id)
{
    return add_exact(sim, EDS__POP_DELTA, params, n, first_id);
}

/* ---- time-driven neurons ---- */

int eds_clock_model_info(int model, uint32_t *n_params, uint32_t *n_state)
{
    if (!n_params || !n_state)
        return EDS_NULLPTR;
    const eds__clock_ops *ops = eds__clock_model(model);
    if (!ops)
        return EDS_RANGE;
    *n_params = ops->n_params;
    *n_state = ops->n_state;
    return EDS_OK;
}

int eds_sim_add_clock(eds_sim *sim, int model, uint32_t n, double dt, const double *params,
                      uint32_t n_params, uint32_t *first_id)
{
    if (!sim || !first_id || (!params && n_params))
        return EDS_NULLPTR;
    const eds__clock_ops *ops = eds__clock_model(model);
    if (!ops)
        return EDS_RANGE;
    if (n_params != ops->n_params || !(dt > 0.0) || !isfinite(dt))
        return EDS_INVALID;
    for (uint32_t i = 0; i < n_params; i++)
        if (!isfinite(params[i]))
            return EDS_INVALID;
    EDS_CHECK(ops->check(params));
    eds__pop *p;
    EDS_CHECK(add_pop(sim, EDS__POP_CLOCK, n, &p, first_id));
    p->clock = ops;
    p->dt = dt;
    p->t0 = sim->now;
    p->params = malloc((n_params ? n_params : 1) * sizeof(double));
    if ((uint64_t)n * ops->n_state > SIZE_MAX / sizeof(double)) {
        sim->failed = 1;
        return EDS_OVERFLOW;
    }
    p->x = malloc((size_t)n * ops->n_state * sizeof(double));
    if (!p->params || !p->x) {
        sim->failed = 1;
        return EDS_NOMEM;
    }
    memcpy(p->params, params, n_params * sizeof(double));
    for (uint32_t j = 0; j < n; j++)
        ops->init(p->params, p->x + (size_t)j * ops->n_state);
    p->in_start = calloc((size_t)n + 1, sizeof(uint64_t));
    if (!p->in_start) {
        sim->failed = 1;
        return EDS_NOMEM;
    }
    sim->stats.bytes_neurons += (uint64_t)n * ops->n_state * sizeof(double);
    int rc = schedule(sim, p->t0 + dt, EDS_EV_STEP, (uint32_t)(p - sim->pops), 0, 0.0);
    if (rc != EDS_OK)
        sim->failed = 1;
    return rc;
}

int eds_sim_add_spike_source(eds_sim *sim, uint32_t n, uint32_t *first_id)
{
    if (!sim || !first_id)
        return EDS_NULLPTR;
    eds__pop *p;
    EDS_CHECK(add_pop(sim, EDS__POP_SPIKES, n, &p, first_id));
    p->times = calloc(n, sizeof(double *));
    p->n_times = calloc(n, sizeof(uint64_t));
    p->cap_times = calloc(n, sizeof(uint64_t));
    p->cursor = calloc(n, sizeof(uint64_t));
    if (!p->times || !p->n_times || !p->cap_times || !p->cursor) {
        sim->failed = 1;
        return EDS_NOMEM;
    }
    return EDS_OK;
}

int eds_sim_add_poisson(eds_sim *sim, uint32_t n, double rate_hz, double start, double stop,
                        uint32_t *first_id)
{
    if (!sim || !first_id)
        return EDS_NULLPTR;
    if (!(rate_hz >= 0.0) || rate_hz > EDS_MAX_POISSON_RATE || !isfinite(start) || !(stop >= start))
        return EDS_INVALID;
    if (start < sim->now)
        return EDS_CAUSALITY;
    eds__pop *p;
    EDS_CHECK(add_pop(sim, EDS__POP_POISSON, n, &p, first_id));
    p->rate = rate_hz;
    p->start = start;
    p->stop = stop;
    double t;
    uint32_t j;
    EDS_CHECK(eds__poisson_next(sim, p, start, &t, &j));
    return t < stop ? schedule(sim, t, EDS_EV_EMIT, p->first + j, 0, 0.0) : EDS_OK;
}

/* ---- neuron state ---- */

static int check_range(const eds_sim *sim, uint32_t first, uint32_t n, int clock,
                       const eds__pop **out)
{
    if (first >= sim->n_ids || n == 0 || n > sim->n_ids - first)
        return EDS_RANGE;
    const eds__pop *p = &sim->pops[sim->pop_of[first]];
    if ((clock ? p->kind != EDS__POP_CLOCK : !EDS__EVENT_DRIVEN(p->kind)) ||
        first + n > p->first + p->n)
        return EDS_INVALID;
    *out = p;
    return EDS_OK;
}

int eds__state_at(const eds_sim *sim, const eds__pop *p, uint32_t j, double t, int inclusive,
                  double out[3])
{
    if (p->kind == EDS__POP_CLOCK) {
        p->clock->project(p->params, p->x + (size_t)j * p->clock->n_state, out);
        return EDS_OK;
    }
    double dt = t - p->t_last[j];
    /* at t == refr_until v is released at v_reset, whether or not REFRAC_END has run yet */
    if (t <= p->refr_until[j]) {
        out[0] = p->v_reset;
        out[1] = p->s1[j] * exp(-dt / p->tau1);
        out[2] = p->s2[j] * exp(-dt / p->tau2);
        return EDS_OK;
    }
    if (p->xd) {
        out[0] = eds__xd_v(p, j, t);
        out[1] = out[2] = 0.0;
        return EDS_OK;
    }
    if (eds__driven(p, j)) {
        double v, t_v;
        EDS_CHECK(eds__drive_state_v(sim, p, j, t, inclusive, &v, &t_v));
        out[0] = eds__exact_v(&p->exact, v, 0.0, 0.0, t - t_v);
        out[1] = out[2] = 0.0;
        return EDS_OK;
    }
    return ev_advance(p, j, dt, out, out + 1, out + 2, (eds_stats *)&sim->stats);
}

int eds_sim_get_state(const eds_sim *sim, uint32_t first, uint32_t n, double *v, double *s1,
                      double *s2)
{
    if (!sim || !v || !s1 || !s2)
        return EDS_NULLPTR;
    const eds__pop *p;
    EDS_CHECK(check_range(sim, first, n, 0, &p));
    for (uint32_t i = 0; i < n; i++) {
        double out[3];
        EDS_CHECK(eds__state_at(sim, p, first - p->first + i, sim->now, 0, out));
        v[i] = out[0];
        s1[i] = out[1];
        s2[i] = out[2];
    }
    return EDS_OK;
}

int eds_sim_set_state(eds_sim *sim, uint32_t first, uint32_t n, const double *v, const double *s1,
                      const double *s2)
{
    if (!sim || !v || !s1 || !s2)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    const eds__pop *cp;
    EDS_CHECK(check_range(sim, first, n, 0, &cp));
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || !isfinite(s1[i]) || !isfinite(s2[i]))
            return EDS_INVALID;
        if (cp->kind == EDS__POP_COND && !(s1[i] >= 0.0 && s2[i] >= 0.0))
            return EDS_INVALID;
        if (cp->kind == EDS__POP_DELTA && (s1[i] != 0.0 || s2[i] != 0.0))
            return EDS_INVALID;
    }
    eds__pop *p = &sim->pops[sim->pop_of[first]];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = first - p->first + i;
        int rc = eds__drive_catch_up(sim, p, j, sim->now); /* then overwritten */
        if (rc != EDS_OK) {
            sim->failed = 1;
            return rc;
        }
        p->v[j] = v[i];
        p->s1[j] = s1[i];
        p->s2[j] = s2[i];
        if (p->g) {
            cond_epoch(p, sim->now);
            p->g[2 * j] = s1[i] * p->ep_r1;
            p->g[2 * j + 1] = s2[i] * p->ep_r2;
        }
        p->t_last[j] = sim->now;
        p->refr_until[j] = -INFINITY;
        rc = predict(sim, p, j);
        if (rc != EDS_OK) {
            sim->failed = 1;
            return rc;
        }
        refrac_advance(sim, p); /* j may have been the REFRAC_END line's head */
    }
    return EDS_OK;
}

int eds_sim_get_clock_state(const eds_sim *sim, uint32_t first, uint32_t n, double *x)
{
    if (!sim || !x)
        return EDS_NULLPTR;
    const eds__pop *p;
    EDS_CHECK(check_range(sim, first, n, 1, &p));
    size_t w = p->clock->n_state;
    memcpy(x, p->x + (size_t)(first - p->first) * w, (size_t)n * w * sizeof(double));
    return EDS_OK;
}

int eds_sim_set_clock_state(eds_sim *sim, uint32_t first, uint32_t n, const double *x)
{
    if (!sim || !x)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    const eds__pop *cp;
    EDS_CHECK(check_range(sim, first, n, 1, &cp));
    size_t w = cp->clock->n_state;
    for (size_t i = 0; i < (size_t)n * w; i++)
        if (!isfinite(x[i]))
            return EDS_INVALID;
    eds__pop *p = &sim->pops[sim->pop_of[first]];
    memcpy(p->x + (size_t)(first - p->first) * w, x, (size_t)n * w * sizeof(double));
    return EDS_OK;
}

int eds_sim_record_spikes(eds_sim *sim, uint32_t first, uint32_t n, int on)
{
    if (!sim)
        return EDS_NULLPTR;
    if (first >= sim->n_ids || n > sim->n_ids - first)
        return EDS_RANGE;
    if (on)
        for (uint32_t id = first; id < first + n; id++)
            if (sim->pops[sim->pop_of[id]].fused)
                return EDS_STATE; /* its spikes are drawn inside its target and never exist */
    memset(sim->recorded + first, on ? 1 : 0, n);
    return EDS_OK;
}

/* ---- event handlers ---- */

/* Schedules the delivery of id's spike at t_spike over its delay group k, arriving at `arrival`:
 * on the group's delay line when it keeps the line in order, else in the heap. */
static int schedule_delivery(eds_sim *sim, uint32_t id, uint32_t k, double arrival, double t_spike)
{
    if (!(arrival >= sim->now))
        return EDS_CAUSALITY;
    uint32_t f = sim->grp_fifo ? sim->grp_fifo[sim->grp_of[id] + k] : EDS__NO_FIFO;
    if (f != EDS__NO_FIFO) {
        eds__fifo *line = &sim->fifos[f];
        if (line->count == 0 || arrival >= eds__fifo_tail(line)->t) {
            if (sim->queue.seq >= ((uint64_t)1 << 56))
                return EDS_OVERFLOW;
            eds__event e = {arrival, ((uint64_t)EDS_EV_DELIVER << 56) | sim->queue.seq++, id,
                            k | EDS__FIFO_FLAG, t_spike};
            EDS_CHECK(eds__fifo_push(line, &e));
            return line->count == 1 ? eds__queue_insert(&sim->queue, &e) : EDS_OK;
        }
    }
    return schedule(sim, arrival, EDS_EV_DELIVER, id, k, t_spike);
}

static int send_spike(eds_sim *sim, uint32_t id, double t)
{
    if (sim->recorded[id])
        EDS_CHECK(eds__record_spike(sim, t, id));
    uint64_t g = sim->grp_of[id];
    if (g < sim->grp_of[id + 1]) {
        double arrival = t + sim->grp_delay[g];
        /* a time-driven spike found at the end of its step, with delay == dt, may land a few
         * ulps before now through rounding; it is due now (delays >= dt are enforced) */
        if (arrival < sim->now && sim->now - arrival <= 8 * 2.220446049250313e-16 * fabs(sim->now))
            arrival = sim->now;
        EDS_CHECK(schedule_delivery(sim, id, 0, arrival, t));
    }
    return EDS_OK;
}

static inline void decay_synapses(eds__pop *p, uint32_t j, double t)
{
    double dt = t - p->t_last[j];
    if (dt > 0.0 && p->g) {
        cond_epoch(p, t);
        p->s1[j] = p->g[2 * j] * p->ep_f1;
        p->s2[j] = p->g[2 * j + 1] * p->ep_f2;
    } else if (dt > 0.0 && p->kind != EDS__POP_DELTA) { /* IF_curr_delta's s1, s2 are always 0 */
        p->s1[j] *= exp(-dt / p->tau1);
        p->s2[j] *= exp(-dt / p->tau2);
    }
    p->t_last[j] = t;
}

/* Event-driven neuron j (not IF_curr_delta) brought to t >= t_last[j] without input. */
static int advance_to(eds_sim *sim, eds__pop *p, uint32_t j, double t)
{
    if (p->g) {
        EDS_CHECK(eds__cond_advance(p->lut, p->v[j], p->s1[j], p->s2[j], t - p->t_last[j],
                                    &p->v[j], NULL, NULL, &sim->stats));
        decay_synapses(p, j, t);
        return EDS_OK;
    }
    EDS_CHECK(ev_advance(p, j, t - p->t_last[j], &p->v[j], &p->s1[j], &p->s2[j], &sim->stats));
    p->t_last[j] = t;
    return EDS_OK;
}

/* Adds w to synaptic variable s2 (inhibitory) or s1 of neuron j, brought to t by
 * decay_synapses or advance_to. */
static inline void add_input(eds__pop *p, uint32_t j, double t, int inhibitory, double w)
{
    if (inhibitory)
        p->s2[j] += w;
    else
        p->s1[j] += w;
    if (p->g) {
        cond_epoch(p, t);
        if (inhibitory)
            p->g[2 * j + 1] += w * p->ep_r2;
        else
            p->g[2 * j] += w * p->ep_r1;
    }
}

/* What predict() does for cond_exp neuron j (state at t_last[j]), short-cut where the answer is
 * known without walking the trajectory. */
static inline __attribute__((always_inline)) int cond_predict_soon(eds_sim *sim, eds__pop *p,
                                                                   uint32_t j)
{
    const uint32_t id = p->first + j;
    /* most inputs leave the neuron out of reach: predict()'s verdict "never", without the call
     * (when v_inf <= v_thresh, else that verdict is a RECHECK at the horizon) */
    if (p->lut->v_inf <= p->lut->tab.v_thresh &&
        eds__cond_rejects(p->lut, p->v[j], p->s1[j], p->s2[j])) {
        sim->stats.n_rejects++;
        if (eds__nqueue_has(&sim->nqueue, id))
            eds__nqueue_remove(&sim->nqueue, id);
        return EDS_OK;
    }
    /* Most of the others get another input before they could fire, so the prediction waits
     * until the time its walk would start from (the reach bound's lower bound of the crossing):
     * a FIRE there with late_fire[j] set makes it then (on_fire), from the same state, with the
     * same result. Before that time nothing but a new input (which predicts anew), a state set
     * or a parameter change (which predict again) touches the neuron. */
    double nb = eds__cond_not_before(p->lut, p->v[j], p->s1[j], p->s2[j]);
    if (nb > 0.0) {
        p->late_fire[j] = 1;
        return neuron_schedule(sim, id, p->t_last[j] + nb, EDS_EV_FIRE);
    }
    return predict(sim, p, j);
}

/* Cond_exp neuron j after an input of weight w (advanced to the input's time, the input added). */
static inline __attribute__((always_inline)) int cond_input(eds_sim *sim, eds__pop *p, uint32_t j,
                                                            int inhibitory, double w)
{
    /* with nothing pending the neuron could not fire, and after inhibition it still cannot */
    if (inhibitory && !eds__nqueue_has(&sim->nqueue, p->first + j) &&
        eds__cond_stays_silent(p->lut, p->v[j], w))
        return EDS_OK;
    return cond_predict_soon(sim, p, j);
}

/* FIRE, REFRAC_END and RECHECK come from the neuron queue: always current, never stale. */
static int on_fire(eds_sim *sim, const eds__event *e)
{
    eds__pop *p = &sim->pops[sim->pop_of[e->id]];
    uint32_t j = e->id - p->first;
    if (p->xd)
        eds__xd_fired(p, j);
    if (p->late_fire && p->late_fire[j]) {
        /* keyed before the crossing by a skipped prediction (input_event_driven, cond_input):
         * predict now. A cond_exp neuron predicts from its state at its last input, as it would
         * have then (advancing first would start a new interpolation segment); that prediction
         * is bookkeeping of the core, not an event of the model (n_deferred, not n_events). */
        if (p->kind == EDS__POP_COND) {
            sim->stats.n_events--;
            sim->stats.n_deferred++;
        } else {
            EDS_CHECK(advance_to(sim, p, j, e->t));
        }
        return predict(sim, p, j);
    }
    decay_synapses(p, j, e->t);
    p->v[j] = p->v_reset;
    sim->stats.n_spikes++;
    EDS_CHECK(send_spike(sim, e->id, e->t));
    if (p->tau_refrac > 0.0) {
        p->refr_until[j] = e->t + p->tau_refrac;
        EDS_CHECK(refrac_schedule(sim, p, j));
        return p->xd ? eds__xd_sync(sim, p) : EDS_OK;
    }
    return predict(sim, p, j);
}

static int on_refrac_end(eds_sim *sim, const eds__event *e)
{
    eds__pop *p = &sim->pops[sim->pop_of[e->id]];
    uint32_t j = e->id - p->first;
    if (p->refrac.count && eds__fifo_head(&p->refrac)->key == e->key) {
        eds__fifo_pop(&p->refrac); /* the line's head: the next valid one takes its slot */
        refrac_advance(sim, p);
    }
    EDS_CHECK(eds__drive_catch_up(sim, p, j, e->t)); /* drops the refractory period's arrivals */
    decay_synapses(p, j, e->t);
    p->v[j] = p->v_reset;
    return p->kind == EDS__POP_COND ? cond_predict_soon(sim, p, j) : predict(sim, p, j);
}

static int on_recheck(eds_sim *sim, const eds__event *e)
{
    eds__pop *p = &sim->pops[sim->pop_of[e->id]];
    uint32_t j = e->id - p->first;
    if (eds__driven(p, j)) {
        /* a fused drive's wake: apply its arrivals up to now; the last may fire the neuron */
        double fired;
        EDS_CHECK(eds__drive_consume(sim, p, j, e->t, 1, &fired));
        if (!isnan(fired))
            return on_fire(sim, e);
        return predict(sim, p, j);
    }
    EDS_CHECK(advance_to(sim, p, j, e->t));
    return predict(sim, p, j);
}

static int on_emit(eds_sim *sim, const eds__event *e)
{
    eds__pop *p = &sim->pops[sim->pop_of[e->id]];
    uint32_t j = e->id - p->first;
    if (p->fused) {
        sim->stats.n_stale++; /* pending before prepare() fused the population: nothing to do */
        return EDS_OK;
    }
    if (p->kind == EDS__POP_SPIKES) {
        if (e->aux != p->gen[j]) {
            sim->stats.n_stale++;
            return EDS_OK;
        }
        p->cursor[j]++;
        if (p->emitted_at)
            p->emitted_at[j] = sim->stats.n_events; /* orders staged inputs (control.c) */
    }
    sim->stats.n_source_spikes++;
    EDS_CHECK(send_spike(sim, e->id, e->t));
    if (p->kind == EDS__POP_SPIKES)
        return eds__spikes_schedule(sim, p, j);
    double next;
    EDS_CHECK(eds__poisson_next(sim, p, e->t, &next, &j));
    return next < p->stop ? schedule(sim, next, EDS_EV_EMIT, p->first + j, 0, 0.0) : EDS_OK;
}

/* One synaptic input to event-driven neuron j at time t. */
static int input_event_driven(eds_sim *sim, eds__pop *p, uint32_t j, double t, int inhibitory,
                              double w)
{
    EDS_CHECK(eds__drive_catch_up(sim, p, j, t));
    if (t < p->refr_until[j]) {
        /* refractory: v is clamped; synaptic variables keep integrating (voltage jumps are lost) */
        decay_synapses(p, j, t);
        if (p->kind != EDS__POP_DELTA)
            add_input(p, j, t, inhibitory, w);
        return EDS_OK;
    }
    if (p->kind == EDS__POP_DELTA) {
        /* the hot path of voltage-jump networks (benchmark 4, Brunel): ev_advance, the jump and
         * predict inlined, in the same arithmetic bit for bit */
        const eds__exact *m = &p->exact;
        EDS_CHECK(eds__delta_jump(p, j, t, w));
        const double v = p->v[j];
        if (v >= m->p.v_thresh) {
            if (p->drive)
                p->drive->wake_left[j] = 0; /* the firing replaces any wake */
            return neuron_schedule(sim, p->first + j, t, EDS_EV_JUMP_FIRE);
        }
        if (m->v_inf > m->p.v_thresh)
            return neuron_schedule(sim, p->first + j,
                                   t + m->p.tau_m * log((m->v_inf - v) / (m->v_inf - m->p.v_thresh)),
                                   EDS_EV_FIRE);
        if (eds__driven(p, j))
            return eds__drive_wake_ok(sim, p, j) ? EDS_OK : drive_predict(sim, p, j);
        eds__nqueue_remove(&sim->nqueue, p->first + j);
        return EDS_OK;
    }
    if (p->kind == EDS__POP_CURR && p->exact.separated)
        EDS_CHECK(curr_advance(p, j, t));
    else
        EDS_CHECK(advance_to(sim, p, j, t));
    add_input(p, j, t, inhibitory, w);
    if (p->kind == EDS__POP_COND)
        return cond_input(sim, p, j, inhibitory, w);
    if (inhibitory) {
        /* an IF_curr_exp current w <= 0 lowers v at every later time (its kernel is positive),
         * so it can only delay the crossing: nothing pending stays so, a RECHECK stays a bound,
         * a FIRE becomes one (settled by on_fire); no prediction */
        if (p->late_fire && w <= 0.0) {
            const uint32_t id = p->first + j;
            if (eds__nqueue_has(&sim->nqueue, id) && (eds__nqueue_entry(&sim->nqueue, id)->key >> 56) == EDS_EV_FIRE)
                p->late_fire[j] = 1;
            return EDS_OK;
        }
    }
    return predict(sim, p, j);
}

/* The run of one delivery group's targets in COND population p (no fused drive), from *ps up to
 * hi or the first target outside p (left in *ps): the effect of input_event_driven on each in
 * turn. A delivery changes no neuron but its targets, and a target's advance to t depends on its
 * own state alone, so the advances of up to EDS__COND_BATCH distinct targets are computed first,
 * together (independent work that the processor overlaps), then the inputs are added, tested and
 * predicted in order. Targets are sorted, so a repeated target is adjacent: its later inputs find
 * it at t already, as they would have. */
static int cond_deliver(eds_sim *sim, eds__pop *p, double t, uint64_t *ps, uint64_t hi)
{
    uint32_t js[EDS__COND_BATCH];
    double v0[EDS__COND_BATCH], ge0[EDS__COND_BATCH], gi0[EDS__COND_BATCH], dt[EDS__COND_BATCH];
    double v[EDS__COND_BATCH];
    uint64_t s = *ps;
    while (s < hi) {
        uint32_t m = 0, last = UINT32_MAX;
        uint64_t end = s;
        for (; end < hi; end++) {
            uint32_t j = (sim->syn_target[end] & EDS__TARGET_MASK) - p->first;
            if (j >= p->n)
                break;
            if (j == last)
                continue;
            if (m == EDS__COND_BATCH)
                break;
            last = j;
            if (t < p->refr_until[j] || !(t - p->t_last[j] > 0.0))
                continue;
            js[m] = j;
            v0[m] = p->v[j];
            ge0[m] = p->s1[j];
            gi0[m] = p->s2[j];
            dt[m] = t - p->t_last[j];
            m++;
        }
        EDS_CHECK(eds__cond_advance_batch(p->lut, m, v0, ge0, gi0, dt, v, &sim->stats));
        for (uint32_t i = 0; i < m; i++) {
            p->v[js[i]] = v[i];
            decay_synapses(p, js[i], t);
        }
        for (; s < end; s++) {
            uint32_t j = (sim->syn_target[s] & EDS__TARGET_MASK) - p->first;
            int inhibitory = (int)(sim->syn_target[s] >> EDS__RECEPTOR_SHIFT);
            double w = sim->syn_weight[s];
            if (t < p->refr_until[j]) {
                decay_synapses(p, j, t);
                add_input(p, j, t, inhibitory, w);
                continue;
            }
            add_input(p, j, t, inhibitory, w);
            EDS_CHECK(cond_input(sim, p, j, inhibitory, w));
        }
        if (end < hi && (sim->syn_target[end] & EDS__TARGET_MASK) - p->first >= p->n)
            break;
    }
    *ps = s;
    return EDS_OK;
}

static int buffer_input(eds__pop *p, uint32_t j, double t, int receptor, double w);

static int on_deliver(eds_sim *sim, const eds__event *e)
{
    const double t = e->t;
    const uint32_t k = e->aux & ~EDS__FIFO_FLAG;
    uint64_t g = sim->grp_of[e->id] + k;
    if (e->aux & EDS__FIFO_FLAG) {
        /* the head of its delay line: the next one takes its place in the heap */
        eds__fifo *line = &sim->fifos[sim->grp_fifo[g]];
        eds__fifo_pop(line);
        if (line->count)
            EDS_CHECK(eds__queue_insert(&sim->queue, eds__fifo_head(line)));
    }
    const uint64_t lo = sim->grp_start[g], hi = sim->grp_start[g + 1];
    sim->stats.n_synaptic_events += hi - lo;
    eds__pop *p = NULL;
    for (uint64_t s = lo; s < hi; s++) {
        uint32_t target = sim->syn_target[s] & EDS__TARGET_MASK;
        int inhibitory = (int)(sim->syn_target[s] >> EDS__RECEPTOR_SHIFT);
        double w = sim->syn_weight[s];
        /* targets are sorted by id within a group: consecutive ones share a population */
        if (!p || target - p->first >= p->n) {
            p = &sim->pops[sim->pop_of[target]];
            if (p->xd) { /* its whole run of targets in one loop */
                EDS_CHECK(eds__xd_deliver(sim, p, t, &s, hi));
                s--;
                continue;
            }
            if (p->kind == EDS__POP_COND && !p->drive) {
                EDS_CHECK(cond_deliver(sim, p, t, &s, hi));
                s--;
                continue;
            }
        }
        uint32_t j = target - p->first;
        if (p->kind == EDS__POP_CLOCK) {
            EDS_CHECK(buffer_input(p, j, t, inhibitory, w));
        } else {
            EDS_CHECK(input_event_driven(sim, p, j, t, inhibitory, w));
        }
    }
    if (g + 1 < sim->grp_of[e->id + 1])
        EDS_CHECK(schedule_delivery(sim, e->id, k + 1, e->aux_t + sim->grp_delay[g + 1], e->aux_t));
    return EDS_OK;
}

/* Keeps an input of a time-driven neuron until the end of the step under way. */
static int buffer_input(eds__pop *p, uint32_t j, double t, int receptor, double w)
{
    if (p->n_in == p->cap_in) { /* the four arrays share one capacity */
        uint64_t need = p->n_in + 1, c1 = p->cap_in, c2 = c1, c3 = c1, c4 = c1;
        EDS_CHECK(eds__grow((void **)&p->in_j, &c1, need, sizeof(uint32_t)));
        EDS_CHECK(eds__grow((void **)&p->in_t, &c2, need, sizeof(double)));
        EDS_CHECK(eds__grow((void **)&p->in_w, &c3, need, sizeof(double)));
        EDS_CHECK(eds__grow((void **)&p->in_r, &c4, need, sizeof(uint8_t)));
        p->cap_in = c1;
    }
    p->in_j[p->n_in] = j;
    p->in_t[p->n_in] = t;
    p->in_w[p->n_in] = w;
    p->in_r[p->n_in] = (uint8_t)receptor;
    p->n_in++;
    return EDS_OK;
}

static int clock_spike(eds_sim *sim, eds__pop *p, uint32_t j, double t)
{
    sim->stats.n_spikes++;
    return send_spike(sim, p->first + j, t);
}

/* Integrates neuron j over [from, to), sending a spike if it fires. */
static int clock_advance(eds_sim *sim, eds__pop *p, uint32_t j, double from, double to)
{
    if (!(to > from))
        return EDS_OK;
    int spiked = 0;
    double offset = 0.0;
    p->clock->step(p->params, p->x + (size_t)j * p->clock->n_state, to - from, &spiked, &offset);
    return spiked ? clock_spike(sim, p, j, from + offset) : EDS_OK;
}

/* Integrates neurons j .. j + n - 1, none with input, over [from, to), sending their spikes. */
static int clock_run(eds_sim *sim, eds__pop *p, uint32_t j, uint32_t n, double from, double to)
{
    while (n > 0) {
        int spiked = 0;
        double offset = 0.0;
        uint32_t done = p->clock->step_run(p->params, p->x + (size_t)j * p->clock->n_state, n,
                                           to - from, &spiked, &offset);
        if (spiked)
            EDS_CHECK(clock_spike(sim, p, j + done - 1, from + offset));
        j += done;
        n -= done;
    }
    return EDS_OK;
}

/* STEP: population e->id integrates the step ending now, each neuron's step split at the
 * arrival times of its inputs (grouped by neuron with a stable counting sort). */
static int on_step(eds_sim *sim, const eds__event *e)
{
    eds__pop *p = &sim->pops[e->id];
    const eds__clock_ops *ops = p->clock;
    const double t_start = p->t0 + (double)p->step_k * p->dt, t_end = e->t;
    uint64_t *start = p->in_start;
    memset(start, 0, ((size_t)p->n + 1) * sizeof(uint64_t));
    for (uint64_t i = 0; i < p->n_in; i++)
        start[p->in_j[i] + 1]++;
    for (uint32_t j = 0; j < p->n; j++)
        start[j + 1] += start[j];
    EDS_CHECK(eds__grow((void **)&p->in_order, &p->cap_order, p->n_in ? p->n_in : 1,
                        sizeof(uint64_t)));
    for (uint64_t i = 0; i < p->n_in; i++)
        p->in_order[start[p->in_j[i]]++] = i; /* start[j] now ends neuron j's inputs */
    uint64_t k = 0;
    for (uint32_t j = 0; j < p->n; j++) {
        if (ops->step_run && start[j] == k) { /* a run of neurons without input: one call */
            uint32_t end = j + 1;
            while (end < p->n && start[end] == k)
                end++;
            EDS_CHECK(clock_run(sim, p, j, end - j, t_start, t_end));
            j = end - 1;
            continue;
        }
        double cursor = t_start;
        for (; k < start[j]; k++) {
            uint64_t i = p->in_order[k];
            EDS_CHECK(clock_advance(sim, p, j, cursor, p->in_t[i]));
            if (p->in_t[i] > cursor)
                cursor = p->in_t[i];
            ops->input(p->params, p->x + (size_t)j * ops->n_state, p->in_r[i], p->in_w[i], 0.0);
        }
        EDS_CHECK(clock_advance(sim, p, j, cursor, t_end));
    }
    p->n_in = 0;
    p->step_k++;
    return schedule(sim, p->t0 + (double)(p->step_k + 1) * p->dt, EDS_EV_STEP, e->id, 0, 0.0);
}

static int dispatch(eds_sim *sim, const eds__event *e)
{
    switch ((int)(e->key >> 56)) {
    case EDS_EV_FIRE:
    case EDS_EV_JUMP_FIRE:
        return on_fire(sim, e);
    case EDS_EV_EMIT:
        return on_emit(sim, e);
    case EDS_EV_REFRAC_END:
        return on_refrac_end(sim, e);
    case EDS_EV_DELIVER:
        return on_deliver(sim, e);
    case EDS_EV_SAMPLE:
        return eds__sample(sim, e->id, e->t);
    case EDS_EV_STEP:
        return on_step(sim, e);
    case EDS_EV_RECHECK:
        return on_recheck(sim, e);
    default:
        return EDS_STATE;
    }
}

int eds_sim_prepare(eds_sim *sim)
{
    if (!sim)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    if (sim->started)
        return EDS_OK;
    int rc = eds__synapses_freeze(sim);
    if (rc == EDS_OK)
        rc = eds__drive_fuse(sim);
    for (uint32_t pi = 0; pi < sim->n_pops && rc == EDS_OK; pi++) {
        eds__pop *p = &sim->pops[pi];
        for (uint32_t j = 0; p->drive && j < p->n && rc == EDS_OK; j++)
            if (eds__driven(p, j) && !(p->refr_until[j] > sim->now))
                rc = predict(sim, p, j);
    }
    if (rc != EDS_OK) {
        sim->failed = 1;
        return rc;
    }
    sim->started = 1;
    return EDS_OK;
}

int eds_sim_run(eds_sim *sim, double until)
{
    if (!sim)
        return EDS_NULLPTR;
    if (sim->failed)
        return EDS_STATE;
    if (!isfinite(until))
        return EDS_INVALID;
    if (until < sim->now)
        return EDS_CAUSALITY;
    int rc = eds__control_before_run(sim); /* staged inputs (control.c) */
    if (rc != EDS_OK) {
        sim->failed = 1;
        return rc;
    }
    rc = eds_sim_prepare(sim);
    if (rc != EDS_OK)
        return rc;
    /* merge the two queues: pop whichever holds the earlier event in (t, rank, seq) */
    eds__event e;
    eds__nqueue *nq = &sim->nqueue;
    for (;;) {
        int main_ok = sim->queue.size > 0 && sim->queue.ev[0].t < until;
        const eds__nentry *top = nq->size > 0 ? eds__nqueue_first(nq) : NULL;
        int neuron_ok = top && top->t < until;
        if (!main_ok && !neuron_ok)
            break;
        if (neuron_ok) {
            const eds__event *m = &sim->queue.ev[0];
            if (!main_ok || top->t < m->t || (top->t == m->t && top->key < m->key)) {
                e.t = top->t;
                e.key = top->key;
                e.id = eds__nqueue_pop(nq);
                e.aux = 0;
                e.aux_t = 0.0;
                main_ok = 0;
            }
        }
        if (main_ok)
            eds__queue_pop(&sim->queue, &e);
        sim->now = e.t;
        sim->stats.n_events++;
        rc = dispatch(sim, &e);
        if (rc != EDS_OK) {
            sim->failed = 1;
            return rc;
        }
    }
    sim->now = until;
    return EDS_OK;
}
