/* IF_curr_delta cells that fire on their own (v_inf > v_thresh, benchmark 4): their state is
 * kept as the exponential of their firing time, so that an input costs one multiply-add and a
 * re-key instead of an exp, a log and a re-key.
 *
 * Without input such a cell fires at T with v(t) = v_inf - c e^{(T - t) / tau_m}, c = v_inf -
 * v_thresh > 0. With X = e^{(T - t0) / tau_m} for a population-wide epoch t0 and G(t) =
 * e^{(t - t0) / tau_m}:
 *   v(t) = v_inf - c X / G(t),   an input of w mV at t:  X -= w G(t) / c,   v(t) >= v_thresh <=> X <= G(t).
 * G(t) is computed once per time (all targets of a delivery share it). X orders the cells by
 * firing time (T = t0 + tau_m ln X is increasing in X), so the population's cells are ordered by (X, seq) in
 * a structure of their own, and only its first cell has an entry in the neuron queue, at
 * T = max(now, t0 + tau_m ln X): one log per change of the first cell, not per input. A cell
 * an input lifts to threshold (X <= G(t)) is ordered by X = -inf (its X kept in x_jump, so that
 * another input of the same instant can take it back below): it fires now as a JUMP_FIRE, after
 * the instant's deliveries, and such cells fire in the order of their keys (seq), as JUMP_FIRE
 * events at one time do. The event order is the one of (t, rank, seq) for every other cell too,
 * since each input re-keys its cell with a new seq.
 *
 * That structure is made for many updates and few questions: inputs change X about 80 times
 * per firing, the first cell changes once or twice. Cells are cut into blocks of XD_BLOCK, each
 * block knows its first cell, a tournament tree over the blocks knows the first of all. An input
 * that makes a cell earlier compares it with its block's first (a tree path if it takes its
 * place); one that makes it later costs nothing unless it was the block's first (then the block
 * is scanned). No heap sifts, no positions to maintain.
 *
 * Refractory cells are not in it (X = +inf; their REFRAC_END is in the neuron queue, as for every
 * other cell); v[j] and t_last[j] are maintained only around firing and resets, X is the state
 * otherwise. The epoch moves to the current time when t - t0 exceeds XD_EPOCH tau_m (X stays
 * below e^{XD_EPOCH + ...}, far from overflow): every X is scaled by one factor and the blocks
 * and tree recomputed, at event times only, so any split of a run into steps gives the same
 * bits. */

#include <math.h>

#include "internal.h"

#define XD_EPOCH 32.0
#define XD_BLOCK 64
#define XD_NONE UINT32_MAX

/* (X, key) of cell a before that of cell b; XD_NONE is after everything */
static inline int xd_before(const eds__xd *xd, uint32_t a, uint32_t b)
{
    if (b == XD_NONE)
        return a != XD_NONE;
    if (a == XD_NONE)
        return 0;
    return xd->x[a] < xd->x[b] || (xd->x[a] == xd->x[b] && xd->key[a] < xd->key[b]);
}

/* The tree's invariant: an inner node holds the earlier of its children's cells. */
static inline void tree_node(eds__xd *xd, uint32_t i)
{
    uint32_t l = xd->tree[2 * i], r = xd->tree[2 * i + 1];
    xd->tree[i] = xd_before(xd, r, l) ? r : l;
}

static void tree_update(eds__xd *xd, uint32_t b)
{
    uint32_t i = xd->leaves + b;
    xd->tree[i] = xd->bmin[b];
    for (i >>= 1; i >= 1; i >>= 1)
        tree_node(xd, i);
}

static void block_scan(eds__xd *xd, uint32_t b)
{
    uint32_t lo = b * XD_BLOCK, hi = lo + XD_BLOCK < xd->n ? lo + XD_BLOCK : xd->n, m = XD_NONE;
    double best = INFINITY; /* (+inf: not queued, never the first) */
    for (uint32_t j = lo; j < hi; j++) {
        double x = xd->x[j];
        if (x < best) {
            best = x;
            m = j;
        } else if (x == best && m != XD_NONE && xd->key[j] < xd->key[m]) {
            m = j;
        }
    }
    xd->bmin[b] = m;
}

static void rebuild(eds__xd *xd)
{
    for (uint32_t b = 0; b < xd->nb; b++)
        block_scan(xd, b);
    for (uint32_t i = 0; i < xd->leaves; i++)
        xd->tree[xd->leaves + i] = i < xd->nb ? xd->bmin[i] : XD_NONE;
    for (uint32_t i = xd->leaves; i-- > 1;)
        tree_node(xd, i);
}

/* Cell j's key becomes (x, key); x = +inf takes it out. */
static inline void xd_set(eds__xd *xd, uint32_t j, double x, uint64_t key)
{
    uint32_t b = j / XD_BLOCK, m = xd->bmin[b];
    int earlier = x < xd->x[j] || (x == xd->x[j] && key < xd->key[j]);
    if ((x < INFINITY) != (xd->x[j] < INFINITY)) {
        xd->size += x < INFINITY ? 1 : -1;
        if (xd->size > xd->max_size)
            xd->max_size = xd->size;
    }
    xd->x[j] = x;
    xd->key[j] = key;
    if (m == j) {
        if (!earlier)
            block_scan(xd, b);
        tree_update(xd, b);
    } else if (x < INFINITY && xd_before(xd, j, m)) {
        xd->bmin[b] = j;
        tree_update(xd, b);
    }
}

static inline uint32_t xd_first(const eds__xd *xd)
{
    return xd->tree[1];
}

int eds__xd_init(eds__pop *p, double now)
{
    eds__xd *xd = calloc(1, sizeof *xd);
    if (!xd)
        return EDS_NOMEM;
    uint32_t n = p->n ? p->n : 1;
    xd->n = n;
    xd->nb = (n + XD_BLOCK - 1) / XD_BLOCK;
    xd->leaves = 1;
    while (xd->leaves < xd->nb)
        xd->leaves *= 2;
    xd->x = malloc(n * sizeof(double));
    xd->x_jump = calloc(n, sizeof(double));
    xd->key = calloc(n, sizeof(uint64_t));
    xd->bmin = malloc(xd->nb * sizeof(uint32_t));
    xd->tree = malloc(2 * (size_t)xd->leaves * sizeof(uint32_t));
    p->xd = xd;
    if (!xd->x || !xd->x_jump || !xd->key || !xd->bmin || !xd->tree) {
        eds__xd_free(p);
        return EDS_NOMEM;
    }
    for (uint32_t j = 0; j < n; j++)
        xd->x[j] = INFINITY;
    rebuild(xd);
    xd->tree[0] = XD_NONE;
    xd->c = p->exact.v_inf - p->exact.p.v_thresh;
    xd->t0 = now;
    xd->g_t = NAN; /* no G cached */
    xd->rep = EDS__NOT_QUEUED;
    return EDS_OK;
}

void eds__xd_free(eds__pop *p)
{
    if (!p->xd)
        return;
    free(p->xd->x);
    free(p->xd->x_jump);
    free(p->xd->key);
    free(p->xd->bmin);
    free(p->xd->tree);
    free(p->xd);
    p->xd = NULL;
}

/* Moves the epoch to t: X *= e^{-(t - t0) / tau}; ties rounding may create are ordered by key
 * when the blocks and the tree are computed again. */
static void rebase(eds__pop *p, double t)
{
    eds__xd *xd = p->xd;
    double f = exp(-(t - xd->t0) / p->exact.p.tau_m);
    for (uint32_t j = 0; j < xd->n; j++) {
        xd->x[j] *= f; /* (+inf and -inf stay) */
        xd->x_jump[j] *= f;
    }
    rebuild(xd);
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
    uint32_t top = xd_first(xd);
    if (top == XD_NONE) {
        if (xd->rep != EDS__NOT_QUEUED)
            eds__nqueue_remove(&sim->nqueue, p->first + xd->rep);
        xd->rep = EDS__NOT_QUEUED;
        return EDS_OK;
    }
    double t_fire = sim->now, x = xd->x[top];
    if (x > 0.0) {
        double t = xd->t0 + p->exact.p.tau_m * log(x);
        if (t > t_fire)
            t_fire = t;
    }
    if (xd->rep != EDS__NOT_QUEUED && xd->rep != top)
        eds__nqueue_remove(&sim->nqueue, p->first + xd->rep);
    uint64_t kind = x == -INFINITY ? EDS_EV_JUMP_FIRE : EDS_EV_FIRE;
    eds__nqueue_set(&sim->nqueue, p->first + top, t_fire, (kind << 56) | xd->key[top]);
    xd->rep = top;
    xd->rep_key = xd->key[top];
    return EDS_OK;
}

/* Most inputs leave the first cell as it was (keys are unique: same key, same entry). */
static inline int sync_first(eds_sim *sim, eds__pop *p)
{
    const eds__xd *xd = p->xd;
    uint32_t top = xd_first(xd);
    if (top != XD_NONE && top == xd->rep && xd->key[top] == xd->rep_key)
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

/* Cell j's X becomes x (at the cached G's time) with a new key: ordered by -inf if at threshold. */
static inline int requeue(eds_sim *sim, eds__pop *p, uint32_t j, double x)
{
    eds__xd *xd = p->xd;
    if (!isfinite(x))
        return EDS_INVALID;
    if (x <= xd->g) {
        xd->x_jump[j] = x;
        x = -INFINITY;
    }
    uint64_t key;
    EDS_CHECK(next_key(sim, &key));
    xd_set(xd, j, x, key);
    return sync_first(sim, p);
}

int eds__xd_predict(eds_sim *sim, eds__pop *p, uint32_t j)
{
    eds__xd *xd = p->xd;
    xd_g(p, p->t_last[j]);
    if (xd->rep != j) /* a REFRAC_END still pending (a state set during refractoriness) */
        eds__nqueue_remove(&sim->nqueue, p->first + j);
    return requeue(sim, p, j, (p->exact.v_inf - p->v[j]) / xd->c * xd->g);
}

int eds__xd_input(eds_sim *sim, eds__pop *p, uint32_t j, double t, double w)
{
    eds__xd *xd = p->xd;
    xd_g(p, t);
    double x = xd->x[j];
    if (!(x < INFINITY))
        return EDS_STATE; /* every cell that is not refractory is queued */
    if (x == -INFINITY)
        x = xd->x_jump[j]; /* at threshold by an earlier input of this instant */
    return requeue(sim, p, j, x - w * xd->gw);
}

void eds__xd_fired(eds__pop *p, uint32_t j)
{
    eds__xd *xd = p->xd;
    xd_set(xd, j, INFINITY, 0);
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
    double x = xd->x[j];
    if (x == INFINITY)
        return p->v[j]; /* not queued: refractory, v is v_reset */
    if (x == -INFINITY)
        x = xd->x_jump[j]; /* at threshold by a jump of this instant, firing once it is over */
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
    for (uint32_t b = 0; b < xd->nb; b++) {
        uint32_t lo = b * XD_BLOCK, hi = lo + XD_BLOCK < xd->n ? lo + XD_BLOCK : xd->n;
        uint32_t m = xd->bmin[b];
        for (uint32_t j = lo; j < hi; j++)
            if (xd->x[j] < INFINITY && (m == XD_NONE || xd_before(xd, j, m)))
                return EDS_STATE;
        if (m != XD_NONE && (m < lo || m >= hi || !(xd->x[m] < INFINITY)))
            return EDS_STATE;
    }
    for (uint32_t i = 1; i < xd->leaves; i++) {
        uint32_t l = xd->tree[2 * i], r = xd->tree[2 * i + 1];
        if (xd->tree[i] != (xd_before(xd, r, l) ? r : l))
            return EDS_STATE;
    }
    for (uint32_t b = 0; b < xd->leaves; b++)
        if (xd->tree[xd->leaves + b] != (b < xd->nb ? xd->bmin[b] : XD_NONE))
            return EDS_STATE;
    uint32_t top = xd_first(xd);
    if (top == XD_NONE)
        return xd->rep == EDS__NOT_QUEUED ? EDS_OK : EDS_STATE;
    if (xd->rep != top || !eds__nqueue_has(&sim->nqueue, p->first + xd->rep))
        return EDS_STATE;
    return EDS_OK;
}
