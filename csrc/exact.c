/* Exactly solvable event-driven neurons: PyNN's IF_curr_exp and IF_curr_delta.
 *
 * What it owns: the closed-form state after an elapsed time and the first threshold crossing.
 * No tables: with current synapses the membrane equation is linear with exponential forcing, so
 *
 *   v(t) = v_inf + (v0 - v_inf) e^{-t/tau_m} + sum_x (I_x0 / cm) e^{-t/tau_m} expm1(t d_x) / d_x,
 *   d_x = 1/tau_m - 1/tau_x   (the limit t e^{-t/tau_m} when tau_x == tau_m),
 *
 * and IF_curr_delta is the same without the synaptic terms (inputs jump v directly).
 *
 * Firing times: an O(1) upper bound on v over all t settles most predictions ("cannot fire").
 * Otherwise, with the time constants apart (the usual case), v is a sum of three exponentials and
 * a search of safe steps (each a certified lower bound on the crossing) approaches the first
 * crossing from below, ending in a second-order Taylor step once within m->tol (1e-9 |theta|)
 * below threshold.
 * A search whose lower bound passes `far` (half the fastest time constant) stops there and asks
 * for a RECHECK: the next input usually arrives before the crossing and makes a prediction moot,
 * so the exps of a full search are spent only on crossings that are near. With nearly equal time
 * constants the exponential form cancels, and v is walked on float-exponent time nodes in its
 * stable kernel form instead, the crossing refined by safeguarded Newton.
 */
#include <math.h>

#include "internal.h"
#include "numerics.h"

/* A search stops with a RECHECK once its certified lower bound on the firing time passes this
 * fraction of the fastest time constant. Smaller values trade exps for RECHECK events; on
 * benchmark 2 (an input every ~2.4 ms per neuron; callgrind, 300 ms) 0.25 and 0.5 cost the
 * fewest instructions, 1 cost 1 % more, 2 cost 12 % more and 4 cost 31 % more. */
#define EXACT_FAR 0.5

/* e^{-t/tau_m} expm1(t d) / d, stably for any d including 0. */
static inline double kernel(double t, double em, double d)
{
    double x = t * d;
    if (fabs(x) < 1e-8)
        return em * t * (1.0 + 0.5 * x);
    return em * expm1(x) / d;
}

static inline double pos(double x)
{
    return x > 0.0 ? x : 0.0;
}

/* Largest value over t >= 0 of kernel(t), for the bound. */
static double kernel_max(double tau_m, double tau_x)
{
    if (tau_x == tau_m)
        return tau_m * exp(-1.0);
    double t_peak = log(tau_m / tau_x) / (1.0 / tau_x - 1.0 / tau_m);
    return kernel(t_peak, exp(-t_peak / tau_m), 1.0 / tau_m - 1.0 / tau_x);
}

int eds__exact_init(eds__exact *m, const eds_curr_params *p, int delta)
{
    const double vals[] = {p->cm, p->tau_m, p->v_rest, p->v_thresh, p->v_reset, p->tau_refrac,
                           p->tau_syn_e, p->tau_syn_i, p->i_offset};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        if (!isfinite(vals[i]))
            return EDS_INVALID;
    if (!(p->cm > 0 && p->tau_m > 0 && p->tau_refrac >= 0 && p->v_reset < p->v_thresh))
        return EDS_INVALID;
    if (!delta && !(p->tau_syn_e > 0 && p->tau_syn_i > 0))
        return EDS_INVALID;
    m->p = *p;
    m->delta = delta;
    m->v_inf = p->v_rest + p->i_offset * p->tau_m / p->cm;
    m->d_e = 1.0 / p->tau_m - 1.0 / p->tau_syn_e;
    m->d_i = 1.0 / p->tau_m - 1.0 / p->tau_syn_i;
    m->k_e = delta ? 0.0 : kernel_max(p->tau_m, p->tau_syn_e);
    m->k_i = delta ? 0.0 : kernel_max(p->tau_m, p->tau_syn_i);
    double slowest = delta ? p->tau_m : fmax(p->tau_m, fmax(p->tau_syn_e, p->tau_syn_i));
    m->horizon = 40.0 * slowest;
    /* walk nodes: first step tau_fast / 64, 8 per octave */
    double fastest = delta ? p->tau_m : fmin(p->tau_m, fmin(p->tau_syn_e, p->tau_syn_i));
    m->step0 = fastest / 64.0;
    /* |d| tau_m >= 0.05: a coefficient of the exponential form, I / (cm d), is then at most
     * 1 / (|d| k) ~ 55 times the largest voltage its current makes (I k / cm): at most ~6 bits
     * lost to cancellation, ~1e-14 mV */
    m->separated = !delta && fabs(m->d_e) * p->tau_m >= 0.05 && fabs(m->d_i) * p->tau_m >= 0.05;
    m->r_m = 1.0 / p->tau_m;
    m->r_e = delta ? 0.0 : 1.0 / p->tau_syn_e;
    m->r_i = delta ? 0.0 : 1.0 / p->tau_syn_i;
    m->c_e = m->separated ? 1.0 / (p->cm * m->d_e) : 0.0;
    m->c_i = m->separated ? 1.0 / (p->cm * m->d_i) : 0.0;
    m->tol = 1e-9 * fmax(1.0, fabs(p->v_thresh));
    m->far = EXACT_FAR * fastest;
    return EDS_OK;
}

double eds__exact_v(const eds__exact *m, double v0, double ie0, double ii0, double t)
{
    if (t == 0.0)
        return v0;
    if (m->separated) {
        double out[3]; /* the form the search uses: three (inline) exps, no division */
        eds__exact_advance(m, v0, ie0, ii0, t, out);
        return out[0];
    }
    if (m->delta)
        return eds__delta_decay(m, v0, t);
    double em = exp(-t / m->p.tau_m);
    return m->v_inf + (v0 - m->v_inf) * em +
           (ie0 * kernel(t, em, m->d_e) + ii0 * kernel(t, em, m->d_i)) / m->p.cm;
}

void eds__exact_advance(const eds__exact *m, double v0, double ie0, double ii0, double t,
                        double out[3])
{
    if (m->separated && t != 0.0) {
        /* one exp per time constant for v and the currents alike */
        const double e[3] = {eds__exp(-m->r_m * t), eds__exp(-m->r_e * t), eds__exp(-m->r_i * t)};
        eds__exact_advance_by(m, v0, ie0, ii0, e, out);
        return;
    }
    out[0] = eds__exact_v(m, v0, ie0, ii0, t);
    out[1] = m->delta ? ie0 : ie0 * exp(-t / m->p.tau_syn_e);
    out[2] = m->delta ? ii0 : ii0 * exp(-t / m->p.tau_syn_i);
}

static double dv_dt(const eds__exact *m, double v, double ie0, double ii0, double t)
{
    double i_syn = m->delta ? 0.0
                            : ie0 * exp(-t / m->p.tau_syn_e) + ii0 * exp(-t / m->p.tau_syn_i);
    return (m->v_inf - v) / m->p.tau_m + i_syn / m->p.cm;
}

/* First root of v(t) - theta in [a, b], given v(a) < theta <= v(b). */
static double refine(const eds__exact *m, double v0, double ie0, double ii0, double a, double b)
{
    const double theta = m->p.v_thresh;
    double s = b;
    for (int it = 0; it < 200; it++) {
        double f = eds__exact_v(m, v0, ie0, ii0, s) - theta;
        if (f >= 0.0)
            b = s;
        else
            a = s;
        if (b - a <= 4e-16 * b)
            break;
        double df = dv_dt(m, f + theta, ie0, ii0, s);
        double next = df > 0 ? s - f / df : 0.5 * (a + b);
        if (!(next > a && next < b))
            next = 0.5 * (a + b);
        s = next;
    }
    return b;
}

/* First crossing of theta by v(t) = v_inf + a e^{-r_m t} + b_e e^{-r_e t} + b_i e^{-r_i t} from
 * v(0) < theta, with the time constants apart (m->separated). Invariant: t_a <= the first
 * crossing, so every exit below is exact (FIRE) or a certified lower bound (RECHECK). */
static void search_separated(const eds__exact *m, double v0, double ie0, double ii0, double *when,
                             int *recheck)
{
    const double theta = m->p.v_thresh, v_inf = m->v_inf;
    const double rm = m->r_m, re = m->r_e, ri = m->r_i;
    const double be = ie0 * m->c_e, bi = ii0 * m->c_i, a = (v0 - v_inf) - be - bi;
    double t_a = 0.0, em = 1.0, ee = 1.0, ei = 1.0; /* e^{-r t_a}: no exp at t_a = 0 */
    for (int it = 0; it < 200; it++) {
        const double xm = a * em, xe = be * ee, xi = bi * ei; /* the terms of v - v_inf at t_a */
        const double gap = theta - (v_inf + xm + xe + xi);
        const double d_a = -(xm * rm + xe * re + xi * ri);
        if (gap <= 0.0) { /* only by rounding on the last safe step */
            *when = t_a;
            return;
        }
        if (gap <= m->tol && d_a > 0.0) {
            /* Within tol (5e-8 mV at theta = -50 mV) below threshold and rising: the root of
             * v's second-order Taylor polynomial at t_a errs by O(|v'''| delta^3 / v'),
             * delta = gap / v' (~5e-7 ms for v' ~ 0.1 mV/ms): below the rounding of v itself. */
            double d2 = xm * rm * rm + xe * re * re + xi * ri * ri;
            double disc = d_a * d_a + 2.0 * d2 * gap;
            if (disc >= 0.0) {
                *when = t_a + 2.0 * gap / (d_a + sqrt(disc));
                return;
            }
            /* v peaks within tol below threshold: the safe steps go on past the peak */
        }
        if (v_inf + pos(xm) + pos(xe) + pos(xi) < theta) {
            *when = INFINITY; /* the positive terms only decay: threshold out of reach */
            return;
        }
        /* Safe step: v'' = sum c r^2 e^{-r t} is at most big_m, the sum of its positive terms at
         * t_a, on all of [t_a, inf). Where v is concave ahead (big_m = 0) this is Newton's step,
         * converging quadratically from below; near the crossing the steps converge
         * quadratically anyway. Infinite when v falls and is concave ahead: it never rises. */
        const double big_m = pos(xm) * rm * rm + pos(xe) * re * re + pos(xi) * ri * ri;
        const double t_b = t_a + eds__exact_safe_step(d_a, big_m, gap);
        if (!(t_b < m->horizon)) {
            /* beyond the horizon every transient has decayed by e^-40: v ~ v_inf */
            *when = v_inf > theta ? m->horizon : INFINITY;
            *recheck = v_inf > theta;
            return;
        }
        if (t_b >= m->far) {
            /* The firing time is at least t_b. An input will most likely arrive before and make
             * the prediction moot: ask to be called again then instead of iterating on. */
            *when = t_b;
            *recheck = 1;
            return;
        }
        t_a = t_b;
        em = eds__exp(-rm * t_a);
        ee = eds__exp(-re * t_a);
        ei = eds__exp(-ri * t_a);
    }
    /* not settled in 200 steps (a near-tangency): t_a > 0 is a certified lower bound */
    *when = t_a > 0.0 ? t_a : m->far;
    *recheck = 1;
}

int eds__exact_predict(const eds__exact *m, double v0, double ie0, double ii0, double *when,
                       int *recheck, eds_stats *stats)
{
    if (!isfinite(v0) || !isfinite(ie0) || !isfinite(ii0))
        return EDS_INVALID;
    const double theta = m->p.v_thresh;
    *recheck = 0;
    if (v0 >= theta) {
        *when = 0.0;
        return EDS_OK;
    }
    if (m->delta) {
        /* v relaxes monotonically to v_inf */
        *when = m->v_inf > theta ? m->p.tau_m * log((m->v_inf - v0) / (m->v_inf - theta))
                                 : INFINITY;
        return EDS_OK;
    }
    if (!(m->v_inf > theta)) { /* (the bound is >= v_inf: it cannot settle anything otherwise) */
        double bound = (v0 > m->v_inf ? v0 : m->v_inf) +
                       (pos(ie0) * m->k_e + pos(ii0) * m->k_i) / m->p.cm;
        if (bound < theta) {
            if (stats)
                stats->n_rejects++;
            *when = INFINITY;
            return EDS_OK;
        }
    }
    if (stats)
        stats->n_predictions++;
    if (m->separated) {
        search_separated(m, v0, ie0, ii0, when, recheck);
        return EDS_OK;
    }
    double t_a = 0.0;
    /* nearly equal time constants make the exponential form ill-conditioned: walk float-exponent
     * nodes instead; each interval is checked by its end values and a slope bound on its inside */
    double v_a = v0, d_a = dv_dt(m, v0, ie0, ii0, 0.0), step = m->step0;
    for (int k = 1; t_a < m->horizon; k++) {
        double t_b = t_a + step;
        double v_b = eds__exact_v(m, v0, ie0, ii0, t_b), d_b = dv_dt(m, v_b, ie0, ii0, t_b);
        if (v_b >= theta) {
            *when = refine(m, v0, ie0, ii0, t_a, t_b);
            return EDS_OK;
        }
        if (d_a > 0 && d_b < 0 && fmax(v_a, v_b) + 0.15 * step * (d_a - d_b) >= theta) {
            /* a maximum inside: locate it by bisection on the slope, then test it */
            double lo = t_a, hi = t_b;
            for (int it = 0; it < 100 && hi - lo > 1e-15 * hi; it++) {
                double mid = 0.5 * (lo + hi);
                double vm = eds__exact_v(m, v0, ie0, ii0, mid);
                if (dv_dt(m, vm, ie0, ii0, mid) > 0)
                    lo = mid;
                else
                    hi = mid;
            }
            if (eds__exact_v(m, v0, ie0, ii0, hi) >= theta) {
                *when = refine(m, v0, ie0, ii0, t_a, hi);
                return EDS_OK;
            }
        }
        t_a = t_b;
        v_a = v_b;
        d_a = d_b;
        if (t_a >= m->far) { /* as in search_separated: no crossing before t_a */
            *when = t_a;
            *recheck = 1;
            return EDS_OK;
        }
        if (k % 8 == 0)
            step *= 2.0;
    }
    if (m->v_inf > theta) {
        *when = t_a;
        *recheck = 1;
    } else {
        *when = INFINITY;
    }
    return EDS_OK;
}
