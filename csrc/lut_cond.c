/* Lookup-table neuron: the conductance-based LIF of PyNN's IF_cond_exp.
 *
 * What it owns: reading the tables made by edsim/tables/cond_exp.py, the state update over an
 * elapsed time (one start, or a delivery's targets together), the prediction of the next
 * threshold crossing and a lower bound of its time. It knows nothing of queues.
 *
 * The model's structure makes v exact in itself: v(t) = v0 P(t) + Q(ge0, gi0, t), with P closed
 * form (at time nodes, by the inline eds__exp: within an ulp of libm's, and no call) and Q
 * tabulated on float-exponent axes. Between time nodes v is the cubic Hermite
 * interpolant built from v and dv/dt (the ODE itself) at both nodes; across conductance nodes Q
 * is interpolated by tensor-product cubic Lagrange on a 4x4 stencil. Advance and prediction use
 * the very same interpolant, so a predicted crossing is a crossing of the trajectory that advance
 * reports, and firing times are roots of that cubic, never grid points.
 *
 * Conductances outside the table's range are not clamped: Q is then integrated by Gauss-Legendre
 * quadrature on the same time nodes (slower, as exact) and counted in stats->n_fallback.
 */
#include <math.h>

#include "internal.h"
#include "numerics.h"

static const double GL_X[16] = {-0.9894009349916499, -0.9445750230732326, -0.8656312023878318, -0.755404408355003, -0.6178762444026438, -0.45801677765722737, -0.2816035507792589, -0.09501250983763744, 0.09501250983763744, 0.2816035507792589, 0.45801677765722737, 0.6178762444026438, 0.755404408355003, 0.8656312023878318, 0.9445750230732326, 0.9894009349916499};
static const double GL_W[16] = {0.027152459411754176, 0.062253523938647456, 0.0951585116824926, 0.12462897125553407, 0.1495959888165767, 0.16915651939500265, 0.18260341504492364, 0.18945061045506864, 0.18945061045506864, 0.18260341504492364, 0.16915651939500265, 0.1495959888165767, 0.12462897125553407, 0.0951585116824926, 0.062253523938647456, 0.027152459411754176};

/* Two doubles side by side (GCC and Clang vector extension: one SSE2 register, or NEON's). Each
 * lane performs the IEEE operations of the scalar code it stands for, so results are the same. */
typedef double v2d __attribute__((vector_size(16)));

static inline v2d load2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* eds__exp_core (fastexp.h) on each lane, by the same operations; |x| <= 700 in both. */
static inline v2d exp_core2(v2d x)
{
    const v2d kf = EDS__EXP_KF(x), r = EDS__EXP_R(x, kf), q = EDS__EXP_POLY(r);
    v2d t, scale;
    for (int i = 0; i < 2; i++) {
        double ti;
        scale[i] = eds__exp_scale(kf[i], &ti);
        t[i] = ti;
    }
    return (t + t * q) * scale;
}

/* Cubic Lagrange weights at y of the stencil whose block is ys: ys[0 .. 3] are its 4 nodes'
 * y-values and ys[4 + i] = 1 / prod_{l != i} (y_i - y_l), so w_i = ys[4 + i] prod_{l != i} (y - y_l),
 * the product taken in increasing l; (w0, w1) and (w2, w3) as pairs. */
static inline void lagrange_pairs(const double *ys, double y, v2d *w01, v2d *w23)
{
    const v2d d01 = y - load2(ys), d23 = y - load2(ys + 2); /* (d0, d1), (d2, d3) */
    const v2d d10 = {d01[1], d01[0]}, d32 = {d23[1], d23[0]};
    *w01 = load2(ys + 4) * d10 * d23[0] * d23[1]; /* iv0 d1 d2 d3, iv1 d0 d2 d3 */
    *w23 = load2(ys + 6) * d01[0] * d01[1] * d32; /* iv2 d0 d1 d3, iv3 d0 d1 d2 */
}

/* First node of the stencil around cell k of an axis of n nodes. */
static inline uint32_t stencil_first(uint32_t k, uint32_t n)
{
    uint32_t j = k == 0 ? 0 : k - 1;
    return j > n - 4 ? n - 4 : j;
}

/* Cubic Lagrange weights of y on the 4 nodes around cell k; *j0 is the first stencil node.
 * lag[8 j .. 8 j + 7] is the block of the stencil starting at node j (lagrange_pairs). */
static inline void lagrange4(const eds__axis *a, const double *lag, uint32_t k, double y,
                             uint32_t *j0, double w[4])
{
    const uint32_t j = stencil_first(k, (uint32_t)a->n);
    v2d w01, w23;
    lagrange_pairs(lag + 8 * (size_t)j, y, &w01, &w23);
    memcpy(w, &w01, sizeof w01);
    memcpy(w + 2, &w23, sizeof w23);
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

/* ---- state update ---- */

/* What v's fast path (fast_v) reads of a table, copied into a local: its loop then keeps them in
 * registers (stores through the outputs cannot alias a local). */
typedef struct {
    const double *q, *lag_ge, *lag_gi, *t_tau_m, *rise_e, *rise_i, *decay_e, *decay_i;
    double t_x0, t_max, ge_x0, ge_max, gi_x0, gi_max;
    uint64_t t_base, ge_base, gi_base, t_last, ge_last, gi_last; /* last cell: n - 2 */
    uint32_t ge_n, gi_n;
    int t_shift, ge_shift, gi_shift;                              /* 52 - m */
    uint64_t row, plane;                                          /* strides of gi and ge in q */
    double cm, tau_e, tau_i, g_leak, v_rest, e_rev_e, e_rev_i, i_offset;
} fast_tab;

static inline void fast_init(const eds_cond_lut *l, fast_tab *f)
{
    const eds_cond_table *p = &l->tab;
    f->q = p->q;
    f->lag_ge = l->lag_ge;
    f->lag_gi = l->lag_gi;
    f->t_tau_m = l->t_tau_m;
    f->rise_e = l->rise_e;
    f->rise_i = l->rise_i;
    f->decay_e = l->decay_e;
    f->decay_i = l->decay_i;
    f->t_x0 = l->t.x0;
    f->t_max = l->t.x_max;
    f->ge_x0 = l->ge.x0;
    f->ge_max = l->ge.x_max;
    f->gi_x0 = l->gi.x0;
    f->gi_max = l->gi.x_max;
    f->t_base = l->t.base;
    f->ge_base = l->ge.base;
    f->gi_base = l->gi.base;
    f->t_last = (uint64_t)l->t.n - 2;
    f->ge_last = (uint64_t)l->ge.n - 2;
    f->gi_last = (uint64_t)l->gi.n - 2;
    f->ge_n = (uint32_t)l->ge.n;
    f->gi_n = (uint32_t)l->gi.n;
    f->t_shift = 52 - l->t.m;
    f->ge_shift = 52 - l->ge.m;
    f->gi_shift = 52 - l->gi.m;
    f->row = (uint64_t)p->t_n;
    f->plane = (uint64_t)p->gi_n * (uint64_t)p->t_n;
    f->cm = p->cm;
    f->tau_e = p->tau_syn_e;
    f->tau_i = p->tau_syn_i;
    f->g_leak = l->g_leak;
    f->v_rest = p->v_rest;
    f->e_rev_e = p->e_rev_e;
    f->e_rev_i = p->e_rev_i;
    f->i_offset = p->i_offset;
}

static inline uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline double double_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* v after dt from (v0, ge0, gi0), when dt is in (0, horizon], (ge0, gi0) in the table and v0
 * finite (else 0, v untouched): what traj_locate, traj_weights and traj_node at the two time nodes
 * around dt give, and the Hermite interpolant between them, by the same operations on the same
 * values (eds__locate, eds__node_y, lagrange4, traj_q, a_node and dv_dt spelled out on f's
 * copies, the pairs of values at both nodes as the two lanes of one vector), so that advance and
 * prediction read the very same interpolant. */
static inline int fast_v(const fast_tab *f, double v0, double ge0, double gi0, double dt,
                         double *v)
{
    if (!(dt > 0.0 && dt <= f->t_max && ge0 >= 0.0 && ge0 <= f->ge_max && gi0 >= 0.0 &&
          gi0 <= f->gi_max && isfinite(v0)))
        return 0;
    /* time cell k, its width h and the Hermite parameter s */
    const double y = dt + f->t_x0;
    uint64_t k = (bits_of(y) >> f->t_shift) - f->t_base;
    k = k > f->t_last ? f->t_last : k;
    const double y0 = double_of((k + f->t_base) << f->t_shift);
    const double h = double_of((k + 1 + f->t_base) << f->t_shift) - y0;
    const double s = (y - y0) / h;
    /* Lagrange stencils along ge and gi */
    const double ye = ge0 + f->ge_x0, yi = gi0 + f->gi_x0;
    uint64_t ke = (bits_of(ye) >> f->ge_shift) - f->ge_base;
    uint64_t ki = (bits_of(yi) >> f->gi_shift) - f->gi_base;
    ke = ke > f->ge_last ? f->ge_last : ke;
    ki = ki > f->gi_last ? f->gi_last : ki;
    const uint32_t je = stencil_first((uint32_t)ke, f->ge_n), ji = stencil_first((uint32_t)ki, f->gi_n);
    v2d we01, we23, wi01, wi23;
    lagrange_pairs(f->lag_ge + 8 * (size_t)je, ye, &we01, &we23);
    lagrange_pairs(f->lag_gi + 8 * (size_t)ji, yi, &wi01, &wi23);
    /* Q at nodes k and k + 1 (the lanes): the 16 rows in traj_q's order, each lane's sum its sum */
    const double *q = f->q + (uint64_t)je * f->plane + (uint64_t)ji * f->row + k;
    v2d acc = {0.0, 0.0};
    for (int a = 0; a < 4; a++) {
        const double wa = a == 0 ? we01[0] : a == 1 ? we01[1] : a == 2 ? we23[0] : we23[1];
        const v2d w01 = wa * wi01, w23 = wa * wi23;
        const double *r = q + (uint64_t)a * f->plane;
        acc += (v2d){w01[0], w01[0]} * load2(r);
        acc += (v2d){w01[1], w01[1]} * load2(r + f->row);
        acc += (v2d){w23[0], w23[0]} * load2(r + 2 * f->row);
        acc += (v2d){w23[1], w23[1]} * load2(r + 3 * f->row);
    }
    /* v and dv/dt at both nodes, then the Hermite interpolant */
    const double ge_tau = ge0 * f->tau_e, gi_tau = gi0 * f->tau_i;
    const v2d an = load2(f->t_tau_m + k) +
                   (ge_tau * load2(f->rise_e + k) + gi_tau * load2(f->rise_i + k)) / f->cm;
    v2d e;
    if (fabs(an[0]) <= 700.0 && fabs(an[1]) <= 700.0)
        e = exp_core2(-an);
    else
        e = (v2d){eds__exp(-an[0]), eds__exp(-an[1])};
    const v2d vn = v0 * e + acc;
    const v2d ge = ge0 * load2(f->decay_e + k), gi = gi0 * load2(f->decay_i + k);
    const v2d dv = (f->g_leak * (f->v_rest - vn) + ge * (f->e_rev_e - vn) +
                    gi * (f->e_rev_i - vn) + f->i_offset) / f->cm;
    *v = eds__hermite(vn[0], dv[0], vn[1], dv[1], h, s);
    return 1;
}

/* v after dt in [0, horizon]. */
static double v_after(const eds_cond_lut *l, double v0, double ge0, double gi0, double dt,
                      eds_stats *stats)
{
    if (dt == 0.0)
        return v0;
    fast_tab f;
    fast_init(l, &f);
    double v;
    if (fast_v(&f, v0, ge0, gi0, dt, &v))
        return v;
    uint32_t k = 0;
    double y = l->t.x0;
    eds__locate(&l->t, dt, &k, &y);
    double y0 = eds__node_y(&l->t, k), y1 = eds__node_y(&l->t, k + 1);
    double va, da, vb, db;
    traj tr;
    traj_locate(&tr, l, v0, ge0, gi0);
    if (stats)
        stats->n_fallback++;
    traj_node(&tr, k, &va, &da);
    traj_node(&tr, k + 1, &vb, &db);
    return eds__hermite(va, da, vb, db, y1 - y0, (y - y0) / (y1 - y0));
}

/* The loop over independent starts lets the processor overlap one start's chains of dependent
 * operations with the next one's. */
int eds__cond_advance_batch(const eds_cond_lut *l, uint32_t n, const double *v0,
                            const double *ge0, const double *gi0, const double *dt, double *v,
                            eds_stats *stats)
{
    fast_tab f;
    fast_init(l, &f);
    for (uint32_t i = 0; i < n; i++)
        if (!fast_v(&f, v0[i], ge0[i], gi0[i], dt[i], &v[i]))
            EDS_CHECK(eds__cond_advance(l, v0[i], ge0[i], gi0[i], dt[i], &v[i], NULL, NULL, stats));
    return EDS_OK;
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

/* The node before the first where some corner of cell (ke, ki) can reach d0 (reach is monotone in
 * ge (up) and gi (down): the cell's corners bound its interior, and in t): no start of the cell
 * at distance d0 below threshold crosses before it. */
static inline uint32_t first_node(const eds_cond_lut *l, uint32_t ke, uint32_t ki, double d0)
{
    const uint32_t nt = (uint32_t)l->tab.t_n;
    const uint64_t ngi = (uint64_t)l->tab.gi_n;
    const float *c[4];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            c[2 * a + b] = l->tab.reach + ((uint64_t)(ke + a) * ngi + (ki + b)) * nt;
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
    return lo > 0 ? lo - 1 : 0;
}

double eds__cond_not_before(const eds_cond_lut *l, double v0, double ge0, double gi0)
{
    uint32_t ke, ki;
    double ye, yi, d0 = l->tab.v_thresh - v0;
    if (!(d0 > 0.0) || !eds__locate(&l->ge, ge0, &ke, &ye) || !eds__locate(&l->gi, gi0, &ki, &yi))
        return 0.0;
    return l->t_nodes[first_node(l, ke, ki, d0)];
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
        k_start = first_node(l, tr.ke, tr.ki, d0);
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
