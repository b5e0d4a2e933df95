/* Lookup-table neuron of a model declared by its equations (edsim/equations.py).
 *
 * What it owns: reading the tables made by edsim/tables/generic.py, the state update over an
 * elapsed time and the prediction of the next threshold crossing, for any membrane equation
 * dv/dt = F(v, s1, s2) whose synaptic variables decay exponentially. Nothing is compiled per
 * model: the equation lives in the tables.
 *
 * Tables: v(t) from every start (v0, s1_0, s2_0) of a grid (uniform in v0 and in each s, float-
 * exponent in t), and F on the (v, s) grid. Across (v0, s1, s2) v is interpolated by tensor-
 * product cubic Lagrange (4x4x4 stencil; 4x4 with one synaptic variable); between time nodes by
 * the cubic Hermite through v and dv/dt = F(v, s(t)) at both nodes, F itself interpolated the same
 * way. Advance and prediction use the very same interpolant, so a predicted crossing is a crossing
 * of the trajectory that advance reports, and firing times are roots of that cubic.
 *
 * Above v_thresh the tables continue the equation by a smooth bounded extension (generic.py): the
 * flow stays smooth across the threshold, so the interpolation stays accurate where it matters.
 *
 * The reach table gives, per synaptic node and time node, the lowest v0 that reaches v_thresh by
 * then (at the last node: ever, without input). v(t) is increasing in v0 (a scalar ODE:
 * trajectories do not cross), so v0 below the bound cannot fire: an O(1) "cannot fire" test, and
 * a binary-searched bracket of the first crossing.
 *
 * Where stencil nodes behave differently (some have fired long ago, others not; near a
 * separatrix) interpolating across them is meaningless. The clean table says, per stencil, for
 * how many time nodes its interpolation error stays within the table's tolerance: a trajectory is
 * read from the table that far (a segment), then continued from its state there, looked up
 * again; prediction schedules a re-check at the segment's end. Segments too short to be worth it
 * are integrated by RK4 on F instead (rk4_span ms).
 *
 * States outside the table (v0 below the v axis, s beyond its range) are not clamped: v is then
 * integrated by RK4 on the F table (interpolated, extrapolated outside its axes), in segments of
 * rk4_span, and the update is counted in stats->n_fallback.
 */
#include <math.h>

#include "internal.h"
#include "numerics.h"

/* ---- uniform axes ---- */

#define UAXIS_MAX_N (1 << 20)

static int uaxis_init(eds__uaxis *a, double lo, double hi, int32_t n)
{
    if (!isfinite(lo) || !isfinite(hi))
        return EDS_INVALID;
    if (n == 1) {
        if (lo != 0.0 || hi != 0.0)
            return EDS_TABLE;
        a->lo = 0.0;
        a->step = 0.0;
        a->inv_step = 0.0;
        a->n = 1;
        return EDS_OK;
    }
    if (n < 4 || n > UAXIS_MAX_N || !(lo < hi))
        return EDS_TABLE;
    double step = (hi - lo) / (double)(n - 1);
    if (!(step > 0.0) || !isfinite(step))
        return EDS_TABLE;
    a->lo = lo;
    a->step = step;
    a->inv_step = 1.0 / step;
    a->n = n;
    return EDS_OK;
}

static inline double u_top(const eds__uaxis *a)
{
    return a->lo + (double)(a->n - 1) * a->step;
}

/* 1 if x lies on the axis (an absent axis takes any value: nothing depends on it). */
static inline int u_inside(const eds__uaxis *a, double x)
{
    return a->n == 1 || (x >= a->lo && x <= u_top(a));
}

/* First node of the 4-node stencil around the cell of x (the edge stencil outside the axis). */
static inline uint32_t u_start(const eds__uaxis *a, double x)
{
    if (a->n == 1)
        return 0;
    double fl = floor((x - a->lo) * a->inv_step);
    if (!(fl >= 1.0))
        return 0;
    if (fl > (double)(a->n - 3))
        return (uint32_t)a->n - 4;
    return (uint32_t)fl - 1;
}

/* Cubic Lagrange weights of x on the 4 nodes around its cell (extrapolating from the edge
 * stencil outside the axis), their x-derivatives if dw is given; returns the stencil size. */
static inline int u_stencil(const eds__uaxis *a, double x, uint32_t *j0, double w[4], double dw[4])
{
    if (a->n == 1) {
        *j0 = 0;
        w[0] = 1.0;
        if (dw)
            dw[0] = 0.0;
        return 1;
    }
    double r = (x - a->lo) * a->inv_step;
    uint32_t j = u_start(a, x);
    double u = r - (double)j, u1 = u - 1.0, u2 = u - 2.0, u3 = u - 3.0;
    w[0] = -u1 * u2 * u3 / 6.0;
    w[1] = u * u2 * u3 / 2.0;
    w[2] = -u * u1 * u3 / 2.0;
    w[3] = u * u1 * u2 / 6.0;
    if (dw) {
        double inv = a->inv_step;
        dw[0] = -(u2 * u3 + u1 * u3 + u1 * u2) / 6.0 * inv;
        dw[1] = (u2 * u3 + u * u3 + u * u2) / 2.0 * inv;
        dw[2] = -(u1 * u3 + u * u3 + u * u1) / 2.0 * inv;
        dw[3] = (u1 * u2 + u * u2 + u * u1) / 6.0 * inv;
    }
    *j0 = j;
    return 4;
}

/* Cell of x on the axis (x inside it). */
static inline uint32_t u_cell(const eds__uaxis *a, double x)
{
    if (a->n == 1)
        return 0;
    double fl = floor((x - a->lo) * a->inv_step);
    if (!(fl >= 0.0))
        return 0;
    if (fl > (double)(a->n - 2))
        return (uint32_t)a->n - 2;
    return (uint32_t)fl;
}

/* ---- construction ---- */

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b && a > UINT64_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

int eds_gen_lut_new(const eds_gen_table *tab, eds_gen_lut **out)
{
    if (!tab || !out)
        return EDS_NULLPTR;
    *out = NULL;
    const double params[] = {tab->v_thresh, tab->v_reset, tab->tau_refrac, tab->v_init,
                             tab->tau_s1, tab->tau_s2, tab->v_lo, tab->s1_lo, tab->s1_hi,
                             tab->s2_lo, tab->s2_hi, tab->reach_margin, tab->rk4_fraction};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (!isfinite(params[i]))
            return EDS_INVALID;
    if (isnan(tab->v_block))
        return EDS_INVALID;
    if (!(tab->tau_s1 > 0 && tab->tau_s2 > 0 && tab->tau_refrac >= 0 &&
          tab->v_reset < tab->v_thresh && tab->v_lo < tab->v_thresh && tab->reach_margin >= 0 &&
          tab->rk4_fraction > 0 && tab->rk4_fraction <= 1.0))
        return EDS_INVALID;
    if (!tab->v || !tab->f || !tab->reach || !tab->clean)
        return EDS_NULLPTR;
    if (!(tab->rk4_span > 0.0) || !isfinite(tab->rk4_span))
        return EDS_INVALID;
    if (tab->v_n < 4 || tab->v_n > UAXIS_MAX_N || tab->f_below < 0 || tab->f_above < 0 ||
        tab->f_below > UAXIS_MAX_N || tab->f_above > UAXIS_MAX_N)
        return EDS_TABLE;
    if (tab->s1_n != 1 && (tab->s1_lo > 0.0 || tab->s1_hi < 0.0))
        return EDS_TABLE; /* synaptic variables decay to 0: the range must hold it */
    if (tab->s2_n != 1 && (tab->s2_lo > 0.0 || tab->s2_hi < 0.0))
        return EDS_TABLE;
    eds_gen_lut *l = calloc(1, sizeof *l);
    if (!l)
        return EDS_NOMEM;
    l->tab = *tab;
    int rc = uaxis_init(&l->v, tab->v_lo, tab->v_thresh, tab->v_n);
    if (rc == EDS_OK) {
        l->fv = l->v;
        l->fv.lo = tab->v_lo - (double)tab->f_below * l->v.step;
        l->fv.n = tab->v_n + tab->f_below + tab->f_above;
        if (!isfinite(l->fv.lo) || !isfinite(u_top(&l->fv)))
            rc = EDS_TABLE;
    }
    if (rc == EDS_OK)
        rc = uaxis_init(&l->s1, tab->s1_lo, tab->s1_hi, tab->s1_n);
    if (rc == EDS_OK)
        rc = uaxis_init(&l->s2, tab->s2_lo, tab->s2_hi, tab->s2_n);
    if (rc == EDS_OK)
        rc = eds__axis_init(&l->t, tab->t_e0, tab->t_m, tab->t_n, 2);
    uint64_t plane = 0, v_cells = 0, f_cells = 0, r_cells = 0, c_cells = 0;
    if (rc == EDS_OK) {
        l->c1_n = tab->s1_n == 1 ? 1u : (uint32_t)tab->s1_n - 3u;
        l->c2_n = tab->s2_n == 1 ? 1u : (uint32_t)tab->s2_n - 3u;
        int ok = mul_ok((uint64_t)tab->s1_n, (uint64_t)tab->s2_n, &plane) &&
                 mul_ok(plane, (uint64_t)tab->t_n, &r_cells) &&
                 mul_ok(r_cells, (uint64_t)tab->v_n, &v_cells) &&
                 mul_ok(plane, (uint64_t)l->fv.n, &f_cells) && v_cells <= SIZE_MAX / 8 &&
                 mul_ok((uint64_t)l->c1_n * l->c2_n, (uint64_t)tab->v_n - 3u, &c_cells);
        if (!ok)
            rc = EDS_TABLE;
    }
    if (rc == EDS_OK && (tab->v_len != v_cells || tab->f_len != f_cells ||
                         tab->reach_len != r_cells || tab->clean_len != c_cells))
        rc = EDS_TABLE;
    for (uint64_t i = 0; rc == EDS_OK && i < c_cells; i++)
        if (tab->clean[i] < 1 || tab->clean[i] > tab->t_n)
            rc = EDS_TABLE;
    for (uint64_t i = 0; rc == EDS_OK && i < v_cells; i++)
        if (!isfinite(tab->v[i]))
            rc = EDS_TABLE;
    for (uint64_t i = 0; rc == EDS_OK && i < f_cells; i++)
        if (!isfinite(tab->f[i]))
            rc = EDS_TABLE;
    for (uint64_t i = 0; rc == EDS_OK && i < r_cells; i++)
        if (isnan(tab->reach[i]))
            rc = EDS_TABLE;
    if (rc == EDS_OK) {
        size_t nt = (size_t)tab->t_n;
        l->t_nodes = malloc(nt * sizeof(double));
        l->decay1 = malloc(nt * sizeof(double));
        l->decay2 = malloc(nt * sizeof(double));
        if (!l->t_nodes || !l->decay1 || !l->decay2)
            rc = EDS_NOMEM;
        for (size_t k = 0; rc == EDS_OK && k < nt; k++) {
            double t = eds__node_y(&l->t, k) - l->t.x0;
            l->t_nodes[k] = t;
            l->decay1[k] = exp(-t / tab->tau_s1);
            l->decay2[k] = exp(-t / tab->tau_s2);
        }
        if (rc == EDS_OK && l->t_nodes[0] != 0.0)
            rc = EDS_TABLE;
        /* numerically integrated segments end at the first node at or past rk4_span */
        l->k_rk4 = 1;
        while (rc == EDS_OK && l->k_rk4 + 1 < (uint32_t)nt && l->t_nodes[l->k_rk4] < tab->rk4_span)
            l->k_rk4++;
    }
    if (rc != EDS_OK) {
        eds_gen_lut_free(l);
        return rc;
    }
    *out = l;
    return EDS_OK;
}

void eds_gen_lut_free(eds_gen_lut *lut)
{
    if (!lut)
        return;
    free(lut->t_nodes);
    free(lut->decay1);
    free(lut->decay2);
    free(lut);
}

double eds_gen_lut_horizon(const eds_gen_lut *lut)
{
    return lut ? lut->t.x_max : 0.0;
}

/* ---- the derivative table ---- */

/* F(v, s1, s2) and dF/dv. Above F's v axis (three extension widths past threshold, where the
 * extension has saturated) v is clamped to its top; below it, and outside the synaptic axes, F
 * is extrapolated from the edge stencil (exact for equations polynomial of degree <= 3 there). */
static double f_eval(const eds_gen_lut *l, double v, double s1, double s2, double *dfdv)
{
    double hi = u_top(&l->fv);
    if (v > hi)
        v = hi;
    uint32_t jv, j1, j2;
    double wv[4], dwv[4], w1[4], w2[4];
    u_stencil(&l->fv, v, &jv, wv, dwv);
    int n1 = u_stencil(&l->s1, s1, &j1, w1, NULL);
    int n2 = u_stencil(&l->s2, s2, &j2, w2, NULL);
    uint64_t ns1 = (uint64_t)l->tab.s1_n, ns2 = (uint64_t)l->tab.s2_n;
    double f = 0.0, df = 0.0;
    for (int a = 0; a < 4; a++) {
        double g = 0.0;
        for (int b = 0; b < n1; b++) {
            const double *row = l->tab.f + ((uint64_t)(jv + a) * ns1 + (j1 + b)) * ns2 + j2;
            double h = 0.0;
            for (int c = 0; c < n2; c++)
                h += w2[c] * row[c];
            g += w1[b] * h;
        }
        f += wv[a] * g;
        df += dwv[a] * g;
    }
    if (dfdv)
        *dfdv = df;
    return f;
}

int eds_gen_lut_dv_dt(const eds_gen_lut *lut, double v, double s1, double s2, double *out)
{
    if (!lut || !out)
        return EDS_NULLPTR;
    if (!isfinite(v) || !isfinite(s1) || !isfinite(s2))
        return EDS_INVALID;
    *out = f_eval(lut, v, s1, s2, NULL);
    return isfinite(*out) ? EDS_OK : EDS_RANGE;
}

/* ---- numerical fallback: RK4 on the F table ---- */

/* v at time tb from v at time ta of a trajectory that started at t = 0 with (s10, s20). Steps
 * are rk4_fraction / |dF/dv| (at least 1e-6 of the interval, so it always ends). */
static double rk4_between(const eds_gen_lut *l, double v, double s10, double s20, double ta,
                          double tb)
{
    const double frac = l->tab.rk4_fraction, span = tb - ta, h_min = 1e-6 * span;
    const double r1 = 1.0 / l->tab.tau_s1, r2 = 1.0 / l->tab.tau_s2;
    double t = ta, a1 = s10 * exp(-ta * r1), a2 = s20 * exp(-ta * r2);
    while (t < tb && isfinite(v)) {
        double fv;
        double k1 = f_eval(l, v, a1, a2, &fv);
        double h = tb - t, h_stable = frac / (fabs(fv) + 1e-300);
        if (h > h_stable)
            h = h_stable > h_min ? h_stable : h_min;
        int last = h >= tb - t;
        if (last)
            h = tb - t;
        double d1 = exp(-0.5 * h * r1), d2 = exp(-0.5 * h * r2);
        double m1 = a1 * d1, m2 = a2 * d2, e1 = m1 * d1, e2 = m2 * d2;
        double k2 = f_eval(l, v + 0.5 * h * k1, m1, m2, NULL);
        double k3 = f_eval(l, v + 0.5 * h * k2, m1, m2, NULL);
        double k4 = f_eval(l, v + h * k3, e1, e2, NULL);
        v += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        t = last ? tb : t + h;
        a1 = e1;
        a2 = e2;
    }
    return v;
}

/* ---- the trajectory at time nodes ---- */

/* One segment of a trajectory from (v0, s1, s2): read from the table up to node k_end (where its
 * interpolation stops being clean, or the horizon), or, outside the table's range or on a stencil
 * clean only over a shorter time than an integrated segment, integrated by RK4 up to node k_end
 * = k_rk4. Beyond k_end the trajectory continues from its state there, looked up again. */
typedef struct {
    const eds_gen_lut *l;
    double v0, s1, s2;
    int in_range;       /* inside the table's axes */
    int table;          /* this segment reads the table */
    uint32_t k_end;
    uint32_t jv, j1, j2;    /* stencil starts */
    int nw, n2;         /* stencil rows (v0, s1 pairs) and their length along s2 */
    double w[16], w2[4];
    uint64_t off[16];   /* row offsets at node 0 */
    /* integrated segments: v at the last node reached */
    uint32_t fb_k;
    double fb_v;
} gtraj;

static void traj_locate(gtraj *tr, const eds_gen_lut *l, double v0, double s1, double s2)
{
    tr->l = l;
    tr->v0 = v0;
    tr->s1 = s1;
    tr->s2 = s2;
    tr->in_range = u_inside(&l->v, v0) && u_inside(&l->s1, s1) && u_inside(&l->s2, s2);
    tr->table = 0;
    tr->k_end = l->k_rk4;
    tr->nw = 0;
    tr->fb_k = 0;
    tr->fb_v = v0;
    tr->jv = tr->j1 = tr->j2 = 0;
    if (!tr->in_range)
        return;
    tr->jv = u_start(&l->v, v0);
    tr->j1 = u_start(&l->s1, s1);
    tr->j2 = u_start(&l->s2, s2);
    uint64_t at = ((uint64_t)tr->jv * l->c1_n + tr->j1) * l->c2_n + tr->j2;
    uint32_t clean = (uint32_t)l->tab.clean[at];
    uint32_t last = clean - 1, nt = (uint32_t)l->tab.t_n;
    if (last >= l->k_rk4 || last == nt - 1) {
        tr->table = 1;
        tr->k_end = last;
    }
}

static void traj_weights(gtraj *tr)
{
    if (!tr->table || tr->nw)
        return;
    const eds_gen_lut *l = tr->l;
    uint32_t jv, j1, j2;
    double wv[4], w1[4];
    u_stencil(&l->v, tr->v0, &jv, wv, NULL);
    int n1 = u_stencil(&l->s1, tr->s1, &j1, w1, NULL);
    tr->n2 = u_stencil(&l->s2, tr->s2, &j2, tr->w2, NULL);
    uint64_t ns1 = (uint64_t)l->tab.s1_n, ns2 = (uint64_t)l->tab.s2_n, nt = (uint64_t)l->tab.t_n;
    int i = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < n1; b++) {
            tr->w[i] = wv[a] * w1[b];
            tr->off[i] = ((uint64_t)(jv + a) * ns1 + (j1 + b)) * nt * ns2 + j2;
            i++;
        }
    tr->nw = i;
}

/* v at time node k <= k_end. Integrated segments must visit nodes in increasing order. */
static double traj_v(gtraj *tr, uint32_t k)
{
    const eds_gen_lut *l = tr->l;
    if (k == 0)
        return tr->v0;
    if (tr->table) {
        traj_weights(tr);
        const double *v = l->tab.v + (uint64_t)k * (uint64_t)l->tab.s2_n;
        double s = 0.0;
        if (tr->n2 == 4) {
            const double w0 = tr->w2[0], w1 = tr->w2[1], w2 = tr->w2[2], w3 = tr->w2[3];
            for (int i = 0; i < tr->nw; i++) {
                const double *r = v + tr->off[i];
                s += tr->w[i] * (w0 * r[0] + w1 * r[1] + w2 * r[2] + w3 * r[3]);
            }
        } else {
            for (int i = 0; i < tr->nw; i++)
                s += tr->w[i] * v[tr->off[i]];
        }
        return s;
    }
    while (tr->fb_k < k) {
        tr->fb_v = rk4_between(l, tr->fb_v, tr->s1, tr->s2, l->t_nodes[tr->fb_k],
                               l->t_nodes[tr->fb_k + 1]);
        tr->fb_k++;
    }
    return tr->fb_v;
}

/* v and dv/dt at time node k. */
static void traj_node(gtraj *tr, uint32_t k, double *v, double *dv)
{
    const eds_gen_lut *l = tr->l;
    double vv = traj_v(tr, k);
    *v = vv;
    *dv = f_eval(l, vv, tr->s1 * l->decay1[k], tr->s2 * l->decay2[k], NULL);
}

/* ---- state update ---- */

/* v at dt in [0, t(k_end)] along the segment. */
static double traj_at(gtraj *tr, double dt)
{
    const eds_gen_lut *l = tr->l;
    if (dt == 0.0)
        return tr->v0;
    uint32_t k = 0;
    double y = l->t.x0;
    eds__locate(&l->t, dt, &k, &y);
    if (k + 1 > tr->k_end)
        k = tr->k_end - 1;
    double y0 = eds__node_y(&l->t, k), y1 = eds__node_y(&l->t, k + 1);
    double va, da, vb, db;
    traj_node(tr, k, &va, &da);
    traj_node(tr, k + 1, &vb, &db);
    return eds__hermite(va, da, vb, db, y1 - y0, (y - y0) / (y1 - y0));
}

static int state_ok(double v0, double s1, double s2)
{
    return isfinite(v0) && isfinite(s1) && isfinite(s2);
}

int eds__gen_advance(const eds_gen_lut *l, double v0, double s10, double s20, double dt,
                     double *v, double *s1, double *s2, eds_stats *stats)
{
    if (!(dt >= 0.0) || !isfinite(dt) || !state_ok(v0, s10, s20))
        return EDS_INVALID;
    const double total = dt;
    double a1 = s10, a2 = s20;
    for (;;) {
        gtraj tr;
        traj_locate(&tr, l, v0, a1, a2);
        if (!tr.in_range && stats && dt > 0.0)
            stats->n_fallback++;
        double span = l->t_nodes[tr.k_end];
        if (dt <= span) {
            v0 = traj_at(&tr, dt);
            break;
        }
        /* continue from the segment's end */
        v0 = traj_v(&tr, tr.k_end);
        if (!isfinite(v0))
            return EDS_RANGE;
        a1 *= l->decay1[tr.k_end];
        a2 *= l->decay2[tr.k_end];
        dt -= span;
    }
    *v = v0;
    *s1 = s10 * exp(-total / l->tab.tau_s1);
    *s2 = s20 * exp(-total / l->tab.tau_s2);
    /* only a state far outside the table can overflow the extrapolated F */
    return isfinite(*v) ? EDS_OK : EDS_RANGE;
}

int eds_gen_lut_advance(const eds_gen_lut *lut, double v0, double s1, double s2, double dt,
                        double *v, double *s1_out, double *s2_out)
{
    if (!lut || !v || !s1_out || !s2_out)
        return EDS_NULLPTR;
    return eds__gen_advance(lut, v0, s1, s2, dt, v, s1_out, s2_out, NULL);
}

int eds_gen_lut_in_table(const eds_gen_lut *lut, double v, double s1, double s2)
{
    if (!lut || !state_ok(v, s1, s2))
        return 0;
    return u_inside(&lut->v, v) && u_inside(&lut->s1, s1) && u_inside(&lut->s2, s2);
}

/* ---- firing-time prediction ---- */

/* The lowest reach bound over the corners of the synaptic cell of (s1, s2) at time node k: reach
 * is monotone in each synaptic variable (generic.py checks it, or disables the bound), so the
 * corners bound the cell's interior. */
static double reach_bound(const eds_gen_lut *l, uint32_t c1, uint32_t c2, int n1, int n2,
                          uint32_t k)
{
    uint64_t ns2 = (uint64_t)l->tab.s2_n, nt = (uint64_t)l->tab.t_n;
    double r = INFINITY;
    for (int a = 0; a < n1; a++)
        for (int b = 0; b < n2; b++) {
            double x = l->tab.reach[((uint64_t)(c1 + a) * ns2 + (c2 + b)) * nt + k];
            if (x < r)
                r = x;
        }
    return r - l->tab.reach_margin;
}

int eds__gen_predict(const eds_gen_lut *l, double v0, double s10, double s20, double *when,
                     int *recheck, eds_stats *stats)
{
    if (!state_ok(v0, s10, s20))
        return EDS_INVALID;
    const double theta = l->tab.v_thresh;
    const uint32_t nt = (uint32_t)l->tab.t_n;
    *recheck = 0;
    if (v0 >= theta) {
        *when = 0.0;
        return EDS_OK;
    }
    gtraj tr;
    traj_locate(&tr, l, v0, s10, s20);
    const uint32_t k_end = tr.k_end;
    const int whole = k_end == nt - 1; /* the segment reaches the horizon */
    uint32_t k_start = 0;
    double v_end = 0.0;
    if (tr.in_range) {
        /* reach bounds true trajectories: they hold whatever the segment's kind */
        uint32_t c1 = u_cell(&l->s1, s10), c2 = u_cell(&l->s2, s20);
        int n1 = l->s1.n > 1 ? 2 : 1, n2 = l->s2.n > 1 ? 2 : 1;
        if (v0 < reach_bound(l, c1, c2, n1, n2, nt - 1)) {
            if (stats)
                stats->n_rejects++;
            goto none;
        }
        /* first node where the cell may have reached threshold: nothing crosses before the node
         * before it */
        uint32_t lo = 0, hi = nt - 1;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (v0 >= reach_bound(l, c1, c2, n1, n2, mid))
                hi = mid;
            else
                lo = mid + 1;
        }
        k_start = lo > 0 ? lo - 1 : 0;
        if (k_start >= k_end)
            goto cut;
    } else if (stats) {
        stats->n_fallback++;
    }
    if (stats)
        stats->n_predictions++;
    double va, da;
    traj_node(&tr, k_start, &va, &da);
    for (uint32_t k = k_start; k < k_end; k++) {
        double vb, db;
        traj_node(&tr, k + 1, &vb, &db);
        if (!isfinite(vb) || !isfinite(db))
            return EDS_RANGE; /* only far outside the table */
        if (va >= theta) { /* a node already past threshold: the crossing was at this node */
            *when = l->t_nodes[k];
            return EDS_OK;
        }
        double y0 = eds__node_y(&l->t, k), y1 = eds__node_y(&l->t, k + 1), h = y1 - y0;
        /* |Hermite basis of the slopes| <= 4/27, which bounds the cubic inside the interval */
        if (fmax(va, vb) + 0.15 * h * (fabs(da) + fabs(db)) >= theta) {
            double c0 = va - theta, c1 = h * da;
            double c2 = -3 * va - 2 * h * da + 3 * vb - h * db;
            double c3 = 2 * va + h * da - 2 * vb + h * db;
            double s = eds__cubic_first_root(c0, c1, c2, c3);
            if (s >= 0.0) {
                *when = (y0 + s * h) - l->t.x0;
                if (*when > l->t_nodes[k + 1])
                    *when = l->t_nodes[k + 1];
                return EDS_OK;
            }
        }
        va = vb;
        da = db;
    }
    if (!whole)
        goto cut;
    v_end = va;
    goto decide;
none:
    /* reach at the last node also bounds firing after the horizon: never fires without input */
    *when = INFINITY;
    return EDS_OK;
decide:
    /* No crossing within the horizon, where the synaptic variables have decayed away. Without
     * input a state above v_block fires eventually: predict again from the horizon. */
    if (l->tab.v_block < theta && v_end > l->tab.v_block) {
        *when = l->t.x_max;
        *recheck = 1;
    } else {
        *when = INFINITY;
    }
    return EDS_OK;
cut:
    /* no crossing until the segment ends: predict again from there */
    *when = l->t_nodes[k_end];
    *recheck = 1;
    return EDS_OK;
}

int eds_gen_lut_predict(const eds_gen_lut *lut, double v0, double s1, double s2, double *when,
                        int *recheck)
{
    if (!lut || !when || !recheck)
        return EDS_NULLPTR;
    return eds__gen_predict(lut, v0, s1, s2, when, recheck, NULL);
}
