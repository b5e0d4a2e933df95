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
 * Refractory cells are not in it (X = +inf; their REFRAC_END is handled as for every other cell); v[j] and t_last[j] are maintained only around firing and resets, X is the state
 * otherwise. The epoch moves to the current time when t - t0 exceeds XD_EPOCH tau_m (X stays
 * below e^{XD_EPOCH + ...}, far from overflow): every X is scaled by one factor and the blocks
 * and tree recomputed, at event times only, so any split of a run into steps gives the same
 * bits. */

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* Cell j, now first of block b, only became earlier: it climbs the path while it wins (a node it
 * loses at holds an earlier cell, and so do the nodes above). */
static void tree_improve(eds__xd *xd, uint32_t b, uint32_t j)
{
    uint32_t i = xd->leaves + b;
    xd->tree[i] = j;
    for (i >>= 1; i >= 1; i >>= 1) {
        uint32_t w = xd->tree[i];
        if (w != j && !xd_before(xd, j, w))
            return;
        xd->tree[i] = j;
    }
}

/* Pairs of X at a time (GCC vector extensions: one SSE2 register, or NEON's). */
typedef double xd_v2 __attribute__((vector_size(16)));
typedef int64_t xd_m2 __attribute__((vector_size(16)));

static inline xd_v2 xd_load2(const double *x)
{
    xd_v2 v;
    memcpy(&v, x, sizeof v);
    return v;
}

static inline xd_v2 xd_min2(xd_v2 a, xd_v2 b) /* a < b ? a : b per lane (no NaN in X) */
{
#ifdef __SSE2__
    return (xd_v2)_mm_min_pd((__m128d)a, (__m128d)b); /* (minpd: that very definition) */
#else
    xd_m2 lt = a < b;
    return (xd_v2)(((xd_m2)a & lt) | ((xd_m2)b & ~lt));
#endif
}

/* The block's first cell: the least X, then among equal X the least key. X is padded with +inf to
 * whole blocks, so every block has XD_BLOCK lanes. */
static void block_scan(eds__xd *xd, uint32_t b)
{
    const double *x = xd->x + (size_t)b * XD_BLOCK;
    xd_v2 m0 = xd_load2(x), m1 = xd_load2(x + 2), m2 = xd_load2(x + 4), m3 = xd_load2(x + 6);
    for (uint32_t k = 8; k < XD_BLOCK; k += 8) {
        m0 = xd_min2(m0, xd_load2(x + k));
        m1 = xd_min2(m1, xd_load2(x + k + 2));
        m2 = xd_min2(m2, xd_load2(x + k + 4));
        m3 = xd_min2(m3, xd_load2(x + k + 6));
    }
    m0 = xd_min2(xd_min2(m0, m1), xd_min2(m2, m3));
    const double best = m0[0] < m0[1] ? m0[0] : m0[1];
    uint32_t m = XD_NONE;
    if (best < INFINITY) { /* (+inf: not queued, never the first) */
        const xd_v2 bv = {best, best};
        for (uint32_t k = 0; k < XD_BLOCK; k += 8) { /* 8 lanes per test, then one by one */
            xd_m2 eq = (xd_load2(x + k) == bv) | (xd_load2(x + k + 2) == bv) |
                       (xd_load2(x + k + 4) == bv) | (xd_load2(x + k + 6) == bv);
            if (!(eq[0] | eq[1]))
                continue;
            for (uint32_t j = b * XD_BLOCK + k; j < b * XD_BLOCK + k + 8; j++)
                if (xd->x[j] == best && (m == XD_NONE || xd->key[j] < xd->key[m]))
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

/* Cell j's key becomes (x, key), `earlier` telling whether it is before the old one; x = +inf
 * takes it out. The blocks and the tree follow; the count of cells in is the caller's. `fresh`:
 * key is newer than every other and x < +inf, so (x, key) is before another's iff x is less. */
static inline void xd_order(eds__xd *xd, uint32_t j, double x, uint64_t key, int earlier,
                            int fresh)
{
    uint32_t b = j / XD_BLOCK, m = xd->bmin[b];
    xd->x[j] = x;
    xd->key[j] = key;
    if (m == j) {
        if (earlier) {
            tree_improve(xd, b, j);
        } else {
            block_scan(xd, b);
            tree_update(xd, b);
        }
    } else if (fresh ? x < xd->x[m] : x < INFINITY && xd_before(xd, j, m)) {
        xd->bmin[b] = j; /* (m != XD_NONE when fresh: j was in block b) */
        tree_improve(xd, b, j);
    }
}

/* Cell j's key becomes (x, key); x = +inf takes it out. */
static inline void xd_set(eds__xd *xd, uint32_t j, double x, uint64_t key)
{
    int earlier = x < xd->x[j] || (x == xd->x[j] && key < xd->key[j]);
    if ((x < INFINITY) != (xd->x[j] < INFINITY)) {
        xd->size += x < INFINITY ? 1 : -1;
        if (xd->size > xd->max_size)
            xd->max_size = xd->size;
    }
    xd_order(xd, j, x, key, earlier, 0);
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
    size_t padded = (size_t)xd->nb * XD_BLOCK;
    xd->x = malloc(padded * sizeof(double));
    xd->x_jump = calloc(padded, sizeof(double));
    xd->key = calloc(padded, sizeof(uint64_t));
    xd->bmin = malloc(xd->nb * sizeof(uint32_t));
    xd->tree = malloc(2 * (size_t)xd->leaves * sizeof(uint32_t));
    p->xd = xd;
    if (!xd->x || !xd->x_jump || !xd->key || !xd->bmin || !xd->tree) {
        eds__xd_free(p);
        return EDS_NOMEM;
    }
    for (size_t j = 0; j < padded; j++)
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

/* Cell j's new X at the cached G's time, -inf (x kept in x_jump) if it is at threshold. */
static inline int at_threshold(eds__xd *xd, uint32_t j, double *x, double g)
{
    if (!isfinite(*x))
        return EDS_INVALID;
    if (*x <= g) {
        xd->x_jump[j] = *x;
        *x = -INFINITY;
    }
    return EDS_OK;
}

int eds__xd_predict(eds_sim *sim, eds__pop *p, uint32_t j)
{
    eds__xd *xd = p->xd;
    xd_g(p, p->t_last[j]);
    if (xd->rep != j) /* a REFRAC_END still pending (a state set during refractoriness) */
        eds__nqueue_remove(&sim->nqueue, p->first + j);
    double x = (p->exact.v_inf - p->v[j]) / xd->c * xd->g;
    uint64_t key;
    EDS_CHECK(at_threshold(xd, j, &x, xd->g));
    EDS_CHECK(next_key(sim, &key));
    xd_set(xd, j, x, key);
    return sync_first(sim, p);
}

/* A delivery's synapses [*s, hi) at t while their targets are in p (they are sorted by id). A
 * refractory cell (X = +inf: the REFRAC_END of t ran before any delivery at t, by rank) loses the
 * jump, t_last set as decay_synapses does; the others take it in synapse order, one key each.
 * The first cell is synced once at the end: no event runs in between and its entry depends only
 * on the final (X, key)s. (No fused drive here: it needs v_inf <= v_thresh.) */
int eds__xd_deliver(eds_sim *sim, eds__pop *p, double t, uint64_t *s, uint64_t hi)
{
    eds__xd *xd = p->xd;
    xd_g(p, t);
    const uint32_t *target = sim->syn_target;
    const float *weight = sim->syn_weight;
    const uint32_t first = p->first, n = p->n;
    const double g = xd->g, gw = xd->gw; /* (locals: the stores to X may alias xd's doubles) */
    uint64_t k = *s, seq = sim->queue.seq;
    if (hi - k > ((uint64_t)1 << 56) - seq)
        return EDS_OVERFLOW; /* keys for the whole delivery, checked once */
    int rc = EDS_OK;
    for (; k < hi; k++) {
        uint32_t j = (target[k] & EDS__TARGET_MASK) - first;
        if (j >= n)
            break;
        const double x0 = xd->x[j];
        double xb = x0;
        if (!(fabs(x0) < INFINITY)) {
            if (x0 == -INFINITY) {
                xb = xd->x_jump[j]; /* at threshold by an earlier input of this instant */
            } else if (t < p->refr_until[j]) {
                p->t_last[j] = t;
                continue;
            } else {
                rc = EDS_STATE; /* every cell that is not refractory is queued */
                break;
            }
        }
        double x = xb - weight[k] * gw;
        rc = at_threshold(xd, j, &x, g);
        if (rc != EDS_OK)
            break;
        xd_order(xd, j, x, seq++, x < x0, 1); /* in before and after: the count stays */
    }
    sim->queue.seq = seq;
    *s = k;
    return rc != EDS_OK ? rc : sync_first(sim, p);
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
