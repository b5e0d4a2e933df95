/* IF_curr_delta cells that fire on their own (v_inf > v_thresh, benchmark 4): their state is
 * kept as the exponential of their firing time, so that an input costs one multiply-add and a
 * re-key instead of an exp, a log and a re-key.
 *
 * Without input such a cell fires at T with v(t) = v_inf - c e^{(T - t) / tau_m}, c = v_inf -
 * v_thresh > 0. With X = e^{(T - t0) / tau_m} for a population-wide epoch t0 and G(t) =
 * e^{(t - t0) / tau_m}:
 *   v(t) = v_inf - c X / G(t),   an input of w mV at t:  X -= w G(t) / c,   v(t) >= v_thresh <=> X <= G(t).
 * G(t) is computed once per time (all targets of a delivery share it). X orders the cells by
 * firing time (T = t0 + tau_m ln X is increasing in X), so the population's cells wait in a heap
 * of their own keyed by (X, seq), and only its first cell has an entry in the neuron queue, at
 * T = max(now, t0 + tau_m ln X): one log per change of the first cell, not per input. A cell
 * an input lifts to threshold (X <= G(t)) gets X = -inf: it fires now, and such cells fire in
 * the order of their keys (seq), as FIRE events at one time do: the event order is the one of
 * (t, rank, seq) for every other cell too, since each input re-keys its cell with a new seq.
 *
 * Refractory cells are not in the heap (their REFRAC_END is in the neuron queue, as for every
 * other cell); v[j] and t_last[j] are maintained only around firing and resets, X is the state
 * otherwise. The epoch moves to the current time when t - t0 exceeds XD_EPOCH tau_m (X stays
 * below e^{XD_EPOCH + ...}, far from overflow): every X is scaled by one factor and the heap
 * rebuilt, at event times only, so any split of a run into steps gives the same bits. */

#include <math.h>

#include "internal.h"

#define XD_EPOCH 32.0

int eds__xd_init(eds__pop *p, double now)
{
    eds__xd *xd = calloc(1, sizeof *xd);
    if (!xd)
        return EDS_NOMEM;
    int rc = eds__nqueue_reserve(&xd->q, p->n ? p->n : 1);
    if (rc != EDS_OK) {
        free(xd);
        return rc;
    }
    xd->c = p->exact.v_inf - p->exact.p.v_thresh;
    xd->t0 = now;
    xd->g_t = NAN; /* no G cached */
    xd->rep = EDS__NOT_QUEUED;
    p->xd = xd;
    return EDS_OK;
}

void eds__xd_free(eds__pop *p)
{
    if (!p->xd)
        return;
    eds__nqueue_free(&p->xd->q);
    free(p->xd);
    p->xd = NULL;
}

/* Moves the epoch to t: X *= e^{-(t - t0) / tau}, order kept (ties re-sorted by the rebuild). */
static void rebase(eds__pop *p, double t)
{
    eds__xd *xd = p->xd;
    double f = exp(-(t - xd->t0) / p->exact.p.tau_m);
    eds__nqueue_scale(&xd->q, f);
    xd->t0 = t;
    xd->rep_key = UINT64_MAX; /* the first cell's time is computed again */
}

/* G(t), caching it with G(t) / c for the inputs at the same t. */
static inline void xd_g(eds__pop *p, double t)
{
    eds__xd *xd = p->xd;
    if (t == xd->g_t)
        return;
    if (t - xd->t0 > XD_EPOCH * p->exact.p.tau_m)
        rebase(p, t);
    xd->g = exp((t - xd->t0) / p->exact.p.tau_m);
    xd->gw = xd->g / xd->c;
    xd->g_t = t;
}

/* Gives the population's first cell (if any) its entry in the neuron queue. */
static int sync_slow(eds_sim *sim, eds__pop *p)
{
    eds__xd *xd = p->xd;
    if (xd->q.size == 0) {
        if (xd->rep != EDS__NOT_QUEUED)
            eds__nqueue_remove(&sim->nqueue, p->first + xd->rep);
        xd->rep = EDS__NOT_QUEUED;
        return EDS_OK;
    }
    const eds__nentry *top = &xd->q.heap[0];
    double t_fire = sim->now;
    if (top->t > 0.0) {
        double t = xd->t0 + p->exact.p.tau_m * log(top->t);
        if (t > t_fire)
            t_fire = t;
    }
    if (xd->rep != EDS__NOT_QUEUED && xd->rep != top->id)
        eds__nqueue_remove(&sim->nqueue, p->first + xd->rep);
    eds__nqueue_set(&sim->nqueue, p->first + top->id, t_fire,
                    ((uint64_t)EDS_EV_FIRE << 56) | top->key);
    xd->rep = top->id;
    xd->rep_key = top->key;
    return EDS_OK;
}

/* Most inputs leave the first cell as it was (keys are unique: same key, same entry). */
static inline int sync_first(eds_sim *sim, eds__pop *p)
{
    const eds__xd *xd = p->xd;
    if (xd->q.size && xd->q.heap[0].id == xd->rep && xd->q.heap[0].key == xd->rep_key)
        return EDS_OK;
    return sync_slow(sim, p);
}

static inline int next_key(eds_sim *sim, uint64_t *key)
{
    if (sim->queue.seq >= ((uint64_t)1 << 56))
        return EDS_OVERFLOW;
    *key = sim->queue.seq++;
    return EDS_OK;
}

int eds__xd_predict(eds_sim *sim, eds__pop *p, uint32_t j)
{
    eds__xd *xd = p->xd;
    xd_g(p, p->t_last[j]);
    double x = (p->exact.v_inf - p->v[j]) / xd->c * xd->g;
    if (!isfinite(x))
        return EDS_INVALID;
    if (x <= xd->g)
        x = -INFINITY;
    uint64_t key;
    EDS_CHECK(next_key(sim, &key));
    if (xd->rep != j) /* a REFRAC_END still pending (a state set during refractoriness) */
        eds__nqueue_remove(&sim->nqueue, p->first + j);
    eds__nqueue_set(&xd->q, j, x, key);
    return sync_first(sim, p);
}

int eds__xd_input(eds_sim *sim, eds__pop *p, uint32_t j, double t, double w)
{
    eds__xd *xd = p->xd;
    uint32_t i = xd->q.pos[j];
    if (i == EDS__NOT_QUEUED)
        return EDS_STATE; /* every cell that is not refractory waits in the heap */
    xd_g(p, t);
    double x = xd->q.heap[xd->q.pos[j]].t; /* (pos again: xd_g may rebuild) */
    if (x != -INFINITY) { /* (-inf: at threshold already, firing now; it stays so) */
        x -= w * xd->gw;
        if (!(x < INFINITY))
            return EDS_INVALID;
        if (x <= xd->g)
            x = -INFINITY;
    }
    uint64_t key;
    EDS_CHECK(next_key(sim, &key));
    eds__nqueue_set(&xd->q, j, x, key);
    return sync_first(sim, p);
}

void eds__xd_fired(eds__pop *p, uint32_t j)
{
    eds__xd *xd = p->xd;
    eds__nqueue_remove(&xd->q, j);
    if (xd->rep == j)
        xd->rep = EDS__NOT_QUEUED; /* its entry was the one popped */
}

int eds__xd_sync(eds_sim *sim, eds__pop *p)
{
    return sync_first(sim, p);
}

double eds__xd_v(const eds__pop *p, uint32_t j, double t)
{
    const eds__xd *xd = p->xd;
    uint32_t i = xd->q.pos[j];
    if (i == EDS__NOT_QUEUED)
        return p->v[j];
    double x = xd->q.heap[i].t;
    if (x == -INFINITY)
        return p->exact.p.v_thresh; /* reached at an input of this instant, firing now */
    return p->exact.v_inf - xd->c * x / exp((t - xd->t0) / p->exact.p.tau_m);
}

void eds__xd_leave(eds_sim *sim, eds__pop *p)
{
    if (!p->xd)
        return;
    if (p->xd->rep != EDS__NOT_QUEUED)
        eds__nqueue_remove(&sim->nqueue, p->first + p->xd->rep);
    eds__xd_free(p);
}

int eds__xd_check(const eds_sim *sim, const eds__pop *p)
{
    const eds__xd *xd = p->xd;
    EDS_CHECK(eds__nqueue_check(&xd->q));
    if (xd->q.size == 0)
        return xd->rep == EDS__NOT_QUEUED ? EDS_OK : EDS_STATE;
    if (xd->rep != xd->q.heap[0].id || sim->nqueue.pos[p->first + xd->rep] == EDS__NOT_QUEUED)
        return EDS_STATE;
    return EDS_OK;
}
