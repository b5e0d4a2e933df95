/* Lookup-table neuron: the conductance-based LIF of PyNN's IF_cond_exp.
 *
 * What it owns: reading the tables made by edsim/tables/cond_exp.py, the state update over an
 * elapsed time, and the prediction of the next threshold crossing. It knows nothing of queues.
 *
 * The model's structure makes v exact in itself: v(t) = v0 P(t) + Q(ge0, gi0, t), with P closed
 * form (at time nodes, by the inline eds__exp: within an ulp of libm's, and no call) and Q tabulated on float-exponent axes. Between time nodes v is the cubic Hermite
 * interpolant built from v and dv/dt (the ODE itself) at both nodes; across conductance nodes Q
 * is interpolated by tensor-product cubic Lagrange on a 4x4 stencil. Advance and prediction use
 * the very same interpolant, so a predicted crossing is a crossing of the trajectory that advance
 * reports, and firing times are roots of that cubic, never grid points.
 *
 * Conductances outside the table's range are not clamped: Q is then integrated by Gauss-Legendre
 * quadrature on the same time nodes (slower, as exact) and counted in stats->n_fallback.
 */
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"
#include "numerics.h"

static const double GL_X[16] = {-0.9894009349916499, -0.9445750230732326, -0.8656312023878318, -0.755404408355003, -0.6178762444026438, -0.45801677765722737, -0.2816035507792589, -0.09501250983763744, 0.09501250983763744, 0.2816035507792589, 0.45801677765722737, 0.6178762444026438, 0.755404408355003, 0.8656312023878318, 0.9445750230732326, 0.9894009349916499};
static const double GL_W[16] = {0.027152459411754176, 0.062253523938647456, 0.0951585116824926, 0.12462897125553407, 0.1495959888165767, 0.16915651939500265, 0.18260341504492364, 0.18945061045506864, 0.18945061045506864, 0.18260341504492364, 0.16915651939500265, 0.1495959888165767, 0.12462897125553407, 0.0951585116824926, 0.062253523938647456, 0.027152459411754176};

/* Cubic Lagrange weights of y on the 4 nodes around cell k; *j0 is the first stencil node.
 * lag[8 j .. 8 j + 3] are the y-values of nodes j .. j + 3 and lag[8 j + 4 + i] is
 * 1 / prod_{l != i} (y_i - y_l) for the stencil starting at node j: one stencil, one block. */
static inline void lagrange4(const eds__axis *a, const double *lag, uint32_t k, double y,
                             uint32_t *j0, double w[4])
{
    uint32_t j = k == 0 ? 0 : k - 1;
    if (j > (uint32_t)a->n - 4)
        j = (uint32_t)a->n - 4;
    const double *ys = lag + 8 * (size_t)j, *iv = ys + 4;
    double d0 = y - ys[0], d1 = y - ys[1], d2 = y - ys[2], d3 = y - ys[3];
    w[0] = iv[0] * d1 * d2 * d3;
    w[1] = iv[1] * d0 * d2 * d3;
    w[2] = iv[2] * d0 * d1 * d3;
    w[3] = iv[3] * d0 * d1 * d2;
    *j0 = j;
}

static double *lagrange_inverses(const eds__axis *a)
{
    double *lag = malloc(8 * (size_t)(a->n - 3) * sizeof(double));
    if (!lag)
        return NULL;
    for (uint32_t j = 0; j + 3 < (uint32_t)a->n; j++)
        for (int i = 0; i < 4; i++) {
            double den = 1.0;
            for (int l = 0; l < 4; l++)
                if (l != i)
                    den *= eds__node_y(a, j + (uint32_t)i) - eds__node_y(a, j + (uint32_t)l);
            lag[8 * j + (uint32_t)i] = eds__node_y(a, j + (uint32_t)i);
            lag[8 * j + 4 + (uint32_t)i] = 1.0 / den;
        }
    return lag;
}

static inline double margin(const eds_cond_lut *l, double reach)
{
    return l->tab.reach_margin + 1e-3 * fabs(reach);
}

/* reach is monotone in ge (up) and gi (down), so a cell's corners bound its interior: a start
 * whose distance to threshold exceeds the cell's largest corner reach at the last node (the
 * whole horizon and after it, without input) plus its margin cannot fire. */
static int reject_bounds(eds_cond_lut *l)
{
    uint64_t nce = (uint64_t)l->tab.ge_n - 1, nci = (uint64_t)l->tab.gi_n - 1;
    uint64_t ngi = (uint64_t)l->tab.gi_n, nt = (uint64_t)l->tab.t_n;
    l->reject = malloc(nce * nci * sizeof(double));
    if (!l->reject)
        return EDS_NOMEM;
    for (uint64_t ke = 0; ke < nce; ke++)
        for (uint64_t ki = 0; ki < nci; ki++) {
            double top = -INFINITY;
            for (uint64_t a = 0; a < 2; a++)
                for (uint64_t b = 0; b < 2; b++) {
                    double r = l->tab.reach[((ke + a) * ngi + (ki + b)) * nt + nt - 1];
                    if (r > top)
                        top = r;
                }
            l->reject[ke * nci + ki] = top + margin(l, top);
        }
    return EDS_OK;
}

/* ---- construction ---- */

int eds_cond_lut_new(const eds_cond_table *tab, eds_cond_lut **out)
{
    if (!tab || !out)
        return EDS_NULLPTR;
    *out = NULL;
    const double params[] = {tab->cm, tab->tau_m, tab->v_rest, tab->v_thresh, tab->v_reset,
                             tab->tau_refrac, tab->tau_syn_e, tab->tau_syn_i, tab->e_rev_e,
                             tab->e_rev_i, tab->i_offset, tab->reach_margin};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (!isfinite(params[i]))
            return EDS_INVALID;
    if (!(tab->cm > 0 && tab->tau_m > 0 && tab->tau_syn_e > 0 && tab->tau_syn_i > 0 &&
          tab->tau_refrac >= 0 && tab->v_reset < tab->v_thresh && tab->reach_margin >= 0))
        return EDS_INVALID;
    if (!tab->q || !tab->reach)
        return EDS_NULLPTR;
    eds_cond_lut *l = calloc(1, sizeof *l);
    if (!l)
        return EDS_NOMEM;
    l->tab = *tab;
    int rc = eds__axis_init(&l->ge, tab->ge_e0, tab->ge_m, tab->ge_n, 4);
    if (rc == EDS_OK)
        rc = eds__axis_init(&l->gi, tab->gi_e0, tab->gi_m, tab->gi_n, 4);
    if (rc == EDS_OK)
        rc = eds__axis_init(&l->t, tab->t_e0, tab->t_m, tab->t_n, 2);
    uint64_t cells = 0;
    if (rc == EDS_OK) {
        uint64_t plane = (uint64_t)tab->ge_n * (uint64_t)tab->gi_n; /* each n < 2^25 */
        if (plane > UINT64_MAX / (uint64_t)tab->t_n || plane * (uint64_t)tab->t_n > SIZE_MAX / 8)
            rc = EDS_TABLE;
        else
            cells = plane * (uint64_t)tab->t_n;
    }
    if (rc == EDS_OK && (tab->q_len != cells || tab->reach_len != cells))
        rc = EDS_TABLE;
    if (rc == EDS_OK) {
        for (uint64_t i = 0; i < cells; i++)
            if (!isfinite(tab->q[i]) || isnan(tab->reach[i])) {
                rc = EDS_TABLE;
                break;
            }
    }
    if (rc == EDS_OK) {
        size_t nt = (size_t)tab->t_n;
        l->t_nodes = malloc(nt * sizeof(double));
        l->decay_e = malloc(nt * sizeof(double));
        l->decay_i = malloc(nt * sizeof(double));
        l->decay_m = malloc(nt * sizeof(double));
        l->t_tau_m = malloc(nt * sizeof(double));
        l->rise_e = malloc(nt * sizeof(double));
        l->rise_i = malloc(nt * sizeof(double));
        if (!l->t_nodes || !l->decay_e || !l->decay_i || !l->decay_m || !l->t_tau_m ||
            !l->rise_e || !l->rise_i)
            rc = EDS_NOMEM;
        for (size_t k = 0; rc == EDS_OK && k < nt; k++) {
            double t = eds__node_y(&l->t, k) - l->t.x0;
            l->t_nodes[k] = t;
            l->decay_e[k] = exp(-t / tab->tau_syn_e);
            l->decay_i[k] = exp(-t / tab->tau_syn_i);
            l->decay_m[k] = exp(-t / tab->tau_m);
            l->t_tau_m[k] = t / tab->tau_m;
            l->rise_e[k] = 1.0 - l->decay_e[k];
            l->rise_i[k] = 1.0 - l->decay_i[k];
        }
        if (rc == EDS_OK && l->t_nodes[0] != 0.0)
            rc = EDS_TABLE;
        if (rc == EDS_OK) {
            l->lag_ge = lagrange_inverses(&l->ge);
            l->lag_gi = lagrange_inverses(&l->gi);
            if (!l->lag_ge || !l->lag_gi)
                rc = EDS_NOMEM;
        }
        if (rc == EDS_OK)
            rc = reject_bounds(l);
    }
    if (rc == EDS_OK) {
        uint64_t ngi = (uint64_t)tab->gi_n, ntt = (uint64_t)tab->t_n;
        for (uint64_t a = 0; a < 4; a++)
            for (uint64_t b = 0; b < 4; b++)
                l->stencil[4 * a + b] = (a * ngi + b) * ntt;
    }
    if (rc != EDS_OK) {
        eds_cond_lut_free(l);
        return rc;
    }
    l->g_leak = tab->cm / tab->tau_m;
    l->v_inf = tab->v_rest + tab->i_offset / l->g_leak;
    /* Inhibition cannot make a silent neuron fire. Raising gi by w >= 0 at time t0, the difference
     * D = v_new - v_old of the two trajectories obeys
     *   cm dD/dt = -(g_L + ge + gi) D - w e^{-(t - t0) / tau_syn_I} (v_new - e_rev_I),  D(t0) = 0,
     * so D <= 0 while v_new >= e_rev_I. And v stays >= e_rev_I once there when at v = e_rev_I
     * cm dv/dt = g_L (v_inf - e_rev_I) + ge (e_rev_E - e_rev_I) >= 0 for every ge >= 0, that is
     * when v_inf >= e_rev_I and e_rev_E >= e_rev_I. Then from v >= e_rev_I the new trajectory
     * stays at or below the old one, which never reaches threshold (a "never" verdict needs
     * v_inf <= v_thresh, else predict() asks for a recheck). The verdict on the old start holds
     * for the new one up to the interpolation error the reach margin already covers. */
    l->inhibition_keeps_silent = l->v_inf >= tab->e_rev_i && tab->e_rev_e >= tab->e_rev_i &&
                                 l->v_inf <= tab->v_thresh;
    *out = l;
    return EDS_OK;
}

void eds_cond_lut_free(eds_cond_lut *lut)
{
    if (!lut)
        return;
    free(lut->t_nodes);
    free(lut->decay_e);
    free(lut->decay_i);
    free(lut->decay_m);
    free(lut->lag_ge);
    free(lut->lag_gi);
    free(lut->t_tau_m);
    free(lut->rise_e);
    free(lut->rise_i);
    free(lut->reject);
    free(lut);
}

double eds_cond_lut_horizon(const eds_cond_lut *lut)
{
    return lut ? lut->t.x_max : 0.0;
}

/* ---- the trajectory at time nodes ---- */

/* Everything about one start state (v0, ge0, gi0) that node evaluation needs. */
typedef struct {
    const eds_cond_lut *l;
    double v0, ge0, gi0;
    int in_table;
    uint32_t ke, ki;    /* table cell of (ge0, gi0) */
    double ye, yi;      /* ge0 + x0, gi0 + x0 on their axes */
    double ge_tau, gi_tau;  /* ge0 tau_syn_e, gi0 tau_syn_i */
    /* table mode: Lagrange weights along ge and gi; weight we[a] wi[b] (w[4 a + b] once
     * traj_products ran) applies to the t row q0 + l->stencil[4 a + b] */
    double we[4], wi[4];
    double w[16];
    const double *q0;
    /* quadrature mode: Q at the last node reached */
    uint32_t q_k;
    double q_val;
} traj;

static double a_integral(const eds_cond_lut *l, double ge0, double gi0, double t, double de,
                         double di)
{
    const eds_cond_table *p = &l->tab;
    return t / p->tau_m + (ge0 * p->tau_syn_e * (1.0 - de) + gi0 * p->tau_syn_i * (1.0 - di)) / p->cm;
}

/* a_integral at time node k, from the node constants: the same operations, so the same value */
static inline double a_node(const traj *tr, uint32_t k)
{
    const eds_cond_lut *l = tr->l;
    return l->t_tau_m[k] + (tr->ge_tau * l->rise_e[k] + tr->gi_tau * l->rise_i[k]) / l->tab.cm;
}

static inline double dv_dt(const eds_cond_lut *l, double v, double ge, double gi)
{
    const eds_cond_table *p = &l->tab;
    return (l->g_leak * (p->v_rest - v) + ge * (p->e_rev_e - v) + gi * (p->e_rev_i - v) +
            p->i_offset) / p->cm;
}

/* Integral over [ta, tb] of b(s) exp(-(A(tb) - A(s))), and exp(-(A(tb) - A(ta))): Q's increment
 * over one interval, by 4 panels of 16-point Gauss-Legendre. */
static void q_step(const eds_cond_lut *l, double ge0, double gi0, double ta, double tb,
                   double *integral, double *decay)
{
    const eds_cond_table *p = &l->tab;
    double a_tb = a_integral(l, ge0, gi0, tb, exp(-tb / p->tau_syn_e), exp(-tb / p->tau_syn_i));
    double a_ta = a_integral(l, ge0, gi0, ta, exp(-ta / p->tau_syn_e), exp(-ta / p->tau_syn_i));
    double sum = 0.0, width = (tb - ta) / 4.0;
    for (int panel = 0; panel < 4; panel++) {
        double lo = ta + panel * width, half = 0.5 * width, mid = lo + half;
        for (int i = 0; i < 16; i++) {
            double s = mid + half * GL_X[i];
            double de = exp(-s / p->tau_syn_e), di = exp(-s / p->tau_syn_i);
            double b = (l->g_leak * p->v_rest + p->i_offset + ge0 * de * p->e_rev_e +
                        gi0 * di * p->e_rev_i) / p->cm;
            sum += half * GL_W[i] * b * exp(-(a_tb - a_integral(l, ge0, gi0, s, de, di)));
        }
    }
    *integral = sum;
    *decay = exp(-(a_tb - a_ta));
}

/* Locates the start state; the interpolation weights come later (traj_weights), since most
 * predictions are settled by the reach bound without them. */
static void traj_locate(traj *tr, const eds_cond_lut *l, double v0, double ge0, double gi0)
{
    tr->l = l;
    tr->v0 = v0;
    tr->ge0 = ge0;
    tr->gi0 = gi0;
    tr->ge_tau = ge0 * l->tab.tau_syn_e;
    tr->gi_tau = gi0 * l->tab.tau_syn_i;
    tr->ke = tr->ki = 0;
    tr->ye = tr->yi = 0.0;
    tr->in_table = eds__locate(&l->ge, ge0, &tr->ke, &tr->ye) && eds__locate(&l->gi, gi0, &tr->ki, &tr->yi);
    tr->q_k = 0;
    tr->q_val = 0.0;
}

static void traj_weights(traj *tr)
{
    if (!tr->in_table)
        return;
    const eds_cond_lut *l = tr->l;
    uint32_t je, ji;
    lagrange4(&l->ge, l->lag_ge, tr->ke, tr->ye, &je, tr->we);
    lagrange4(&l->gi, l->lag_gi, tr->ki, tr->yi, &ji, tr->wi);
    tr->q0 = l->tab.q + ((uint64_t)je * (uint64_t)l->tab.gi_n + ji) * (uint64_t)l->tab.t_n;
}

/* The 16 stencil weights, for walks that read many nodes. */
static void traj_products(traj *tr)
{
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            tr->w[4 * a + b] = tr->we[a] * tr->wi[b];
}

/* Q at time node k. In quadrature mode nodes must be visited in increasing order from 0. */
static double traj_q(traj *tr, uint32_t k)
{
    const eds_cond_lut *l = tr->l;
    if (tr->in_table) {
        const double *q = tr->q0 + k;
        double s = 0.0;
        for (int i = 0; i < 16; i++)
            s += tr->w[i] * q[l->stencil[i]];
        return s;
    }
    while (tr->q_k < k) {
        double integral, decay;
        q_step(l, tr->ge0, tr->gi0, l->t_nodes[tr->q_k], l->t_nodes[tr->q_k + 1], &integral, &decay);
        tr->q_val = tr->q_val * decay + integral;
        tr->q_k++;
    }
    return tr->q_val;
}

/* v and dv/dt at time node k. */
static void traj_node(traj *tr, uint32_t k, double *v, double *dv)
{
    const eds_cond_lut *l = tr->l;
    double p = eds__exp(-a_node(tr, k));
    double vv = tr->v0 * p + traj_q(tr, k);
    *v = vv;
    *dv = dv_dt(l, vv, tr->ge0 * l->decay_e[k], tr->gi0 * l->decay_i[k]);
}

/* Q at nodes k and k + 1 (q = the stencil's first row + k) for Lagrange weights we, wi: the two
 * rows are adjacent, so one pass over the stencil reads both, each sum in traj_q's order and with
 * its weights we[a] wi[b], hence its value. With SSE2 the two sums are the two lanes of one
 * vector: lane arithmetic is the same IEEE double arithmetic as the scalar code's. */
static inline void stencil_pair(const eds_cond_lut *l, const double *q, const double we[4],
                                const double wi[4], double s[2])
{
#if defined(__SSE2__)
    __m128d acc = _mm_setzero_pd();
    __m128d wi01 = _mm_loadu_pd(wi), wi23 = _mm_loadu_pd(wi + 2);
    for (int a = 0; a < 4; a++) {
        __m128d wea = _mm_set1_pd(we[a]);
        __m128d w01 = _mm_mul_pd(wea, wi01), w23 = _mm_mul_pd(wea, wi23);
        const uint64_t *st = l->stencil + 4 * a;
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_unpacklo_pd(w01, w01), _mm_loadu_pd(q + st[0])));
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_unpackhi_pd(w01, w01), _mm_loadu_pd(q + st[1])));
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_unpacklo_pd(w23, w23), _mm_loadu_pd(q + st[2])));
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_unpackhi_pd(w23, w23), _mm_loadu_pd(q + st[3])));
    }
    _mm_storeu_pd(s, acc);
#else
    s[0] = s[1] = 0.0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            double w = we[a] * wi[b];
            const double *r = q + l->stencil[4 * a + b];
            s[0] += w * r[0];
            s[1] += w * r[1];
        }
#endif
}

/* ---- state update ---- */

/* v after dt in [0, horizon]. */
static double v_after(const eds_cond_lut *l, double v0, double ge0, double gi0, double dt,
                      eds_stats *stats)
{
    if (dt == 0.0)
        return v0;
    uint32_t k = 0;
    double y = l->t.x0;
    eds__locate(&l->t, dt, &k, &y);
    double y0 = eds__node_y(&l->t, k), y1 = eds__node_y(&l->t, k + 1);
    double s = (y - y0) / (y1 - y0);
    double va, da, vb, db;
    uint32_t ke, ki;
    double ye, yi;
    if (eds__locate(&l->ge, ge0, &ke, &ye) && eds__locate(&l->gi, gi0, &ki, &yi)) {
        /* traj_locate, traj_weights and traj_node at k and k + 1, on locals: the same
         * operations on the same values */
        const eds_cond_table *p = &l->tab;
        uint32_t je, ji;
        double we[4], wi[4], q[2];
        lagrange4(&l->ge, l->lag_ge, ke, ye, &je, we);
        lagrange4(&l->gi, l->lag_gi, ki, yi, &ji, wi);
        stencil_pair(l, p->q + ((uint64_t)je * (uint64_t)p->gi_n + ji) * (uint64_t)p->t_n + k,
                     we, wi, q);
        double ge_tau = ge0 * p->tau_syn_e, gi_tau = gi0 * p->tau_syn_i;
        double aa = l->t_tau_m[k] + (ge_tau * l->rise_e[k] + gi_tau * l->rise_i[k]) / p->cm;
        double ab = l->t_tau_m[k + 1] + (ge_tau * l->rise_e[k + 1] + gi_tau * l->rise_i[k + 1]) / p->cm;
        va = v0 * eds__exp(-aa) + q[0];
        vb = v0 * eds__exp(-ab) + q[1];
        da = dv_dt(l, va, ge0 * l->decay_e[k], gi0 * l->decay_i[k]);
        db = dv_dt(l, vb, ge0 * l->decay_e[k + 1], gi0 * l->decay_i[k + 1]);
    } else {
        traj tr;
        traj_locate(&tr, l, v0, ge0, gi0);
        if (stats)
            stats->n_fallback++;
        traj_node(&tr, k, &va, &da);
        traj_node(&tr, k + 1, &vb, &db);
    }
    return eds__hermite(va, da, vb, db, y1 - y0, s);
}

int eds__cond_advance(const eds_cond_lut *l, double v0, double ge0, double gi0, double dt,
                      double *v, double *ge, double *gi, eds_stats *stats)
{
    if (!(dt >= 0.0) || !isfinite(dt) || !isfinite(v0) || !(ge0 >= 0.0) || !(gi0 >= 0.0) ||
        !isfinite(ge0) || !isfinite(gi0))
        return EDS_INVALID;
    double horizon = l->t.x_max;
    /* Longer than the horizon: chain, using Q(t1 + t2) = P(t2) Q(t1) + Q(t2) from the new state. */
    while (dt > horizon) {
        v0 = v_after(l, v0, ge0, gi0, horizon, stats);
        ge0 *= exp(-horizon / l->tab.tau_syn_e);
        gi0 *= exp(-horizon / l->tab.tau_syn_i);
        dt -= horizon;
    }
    *v = v_after(l, v0, ge0, gi0, dt, stats);
    if (ge) {
        *ge = ge0 * exp(-dt / l->tab.tau_syn_e);
        *gi = gi0 * exp(-dt / l->tab.tau_syn_i);
    }
    return EDS_OK;
}

int eds_cond_lut_advance(const eds_cond_lut *lut, double v0, double ge0, double gi0, double dt,
                         double *v, double *ge, double *gi)
{
    if (!lut || !v || !ge || !gi)
        return EDS_NULLPTR;
    return eds__cond_advance(lut, v0, ge0, gi0, dt, v, ge, gi, NULL);
}

/* ---- firing-time prediction ---- */

/* The state (v, ge, gi) of trajectory tr at time node k is a start of its own: the reject test
 * applies to it as to the first start, and ends a walk as soon as the rest of the trajectory is
 * out of reach. */
static inline int out_of_reach(const eds_cond_lut *l, const traj *tr, uint32_t k, double v)
{
    uint32_t ke, ki;
    double ye, yi;
    return eds__locate(&l->ge, tr->ge0 * l->decay_e[k], &ke, &ye) &&
           eds__locate(&l->gi, tr->gi0 * l->decay_i[k], &ki, &yi) &&
           l->tab.v_thresh - v > l->reject[(uint64_t)ke * (uint64_t)(l->tab.gi_n - 1) + ki];
}

int eds__cond_predict(const eds_cond_lut *l, double v0, double ge0, double gi0, double *when,
                      int *recheck, eds_stats *stats)
{
    if (!isfinite(v0) || !(ge0 >= 0.0) || !(gi0 >= 0.0) || !isfinite(ge0) || !isfinite(gi0))
        return EDS_INVALID;
    const double theta = l->tab.v_thresh;
    const uint32_t nt = (uint32_t)l->tab.t_n;
    *recheck = 0;
    double d0 = theta - v0;
    if (d0 <= 0.0) {
        *when = 0.0;
        return EDS_OK;
    }
    /* most predictions end at the reject test: it needs the cell alone */
    if (eds__cond_rejects(l, v0, ge0, gi0)) {
        if (stats)
            stats->n_rejects++;
        goto none;
    }
    traj tr;
    traj_locate(&tr, l, v0, ge0, gi0);
    uint32_t k_start = 0;
    if (tr.in_table) {
        const uint32_t ke = tr.ke, ki = tr.ki;
        /* reach is monotone in ge (up) and gi (down): the cell's corners bound its interior */
        uint64_t ngi = (uint64_t)l->tab.gi_n;
        const float *c[4];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                c[2 * a + b] = l->tab.reach + ((uint64_t)(ke + a) * ngi + (ki + b)) * nt;
        /* first node where some corner can reach d0: nothing crosses before the node before it */
        uint32_t lo = 0, hi = nt - 1;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            double r = c[0][mid];
            for (int i = 1; i < 4; i++)
                if (c[i][mid] > r)
                    r = c[i][mid];
            if (r + margin(l, r) >= d0)
                hi = mid;
            else
                lo = mid + 1;
        }
        k_start = lo > 0 ? lo - 1 : 0;
        traj_weights(&tr);
        traj_products(&tr);
    } else if (stats) {
        stats->n_fallback++;
    }
    if (stats)
        stats->n_predictions++;
    double va, da;
    traj_node(&tr, k_start, &va, &da);
    for (uint32_t k = k_start; k + 1 < nt; k++) {
        double vb, db;
        traj_node(&tr, k + 1, &vb, &db);
        if (va >= theta) { /* only at k_start == 0 with v0 == theta, handled above; defensive */
            *when = l->t_nodes[k];
            return EDS_OK;
        }
        double y0 = eds__node_y(&l->t, k), y1 = eds__node_y(&l->t, k + 1), h = y1 - y0;
        /* |Hermite basis of the slopes| <= 4/27, which bounds the cubic inside the interval */
        if ((va > vb ? va : vb) + 0.15 * h * (fabs(da) + fabs(db)) >= theta) { /* v finite */
            double c0 = va - theta, c1 = h * da;
            double c2 = -3 * va - 2 * h * da + 3 * vb - h * db;
            double c3 = 2 * va + h * da - 2 * vb + h * db;
            double s = eds__cubic_first_root(c0, c1, c2, c3);
            if (s >= 0.0) {
                /* the same (y - y0) / h parametrisation that advance() inverts */
                *when = (y0 + s * h) - l->t.x0;
                if (*when > l->t.x_max)
                    *when = l->t.x_max;
                return EDS_OK;
            }
        }
        /* After node k + 1, v can only rise while below its equilibrium, which is at most
         * v_eq(ge) = (g_L v_rest + i_offset + ge e_rev_E) / (g_L + ge) with ge at most its value
         * now (inhibition only lowers it, unless e_rev_I lies above): once v and that bound are
         * below threshold by the table's margin, no later crossing exists (saves walking the
         * rest of the horizon after a subthreshold input). Requires e_rev_E >= v_inf. */
        if (l->tab.e_rev_e >= l->v_inf) {
            const eds_cond_table *p = &l->tab;
            double ge = tr.ge0 * l->decay_e[k + 1];
            double bound = (l->g_leak * p->v_rest + p->i_offset + ge * p->e_rev_e) / (l->g_leak + ge);
            if (tr.gi0 > 0.0 && p->e_rev_i > bound)
                bound = p->e_rev_i;
            if (vb < theta - p->reach_margin && bound < theta - p->reach_margin)
                goto none;
        }
        if (out_of_reach(l, &tr, k + 1, vb))
            goto none;
        va = vb;
        da = db;
    }
none:
    if (l->v_inf > theta) {
        *when = l->t.x_max;
        *recheck = 1;
    } else {
        *when = INFINITY;
    }
    return EDS_OK;
}

int eds_cond_lut_predict(const eds_cond_lut *lut, double v0, double ge0, double gi0,
                         double *when, int *recheck)
{
    if (!lut || !when || !recheck)
        return EDS_NULLPTR;
    return eds__cond_predict(lut, v0, ge0, gi0, when, recheck, NULL);
}
