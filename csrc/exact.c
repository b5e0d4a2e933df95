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
 * Firing times: an O(1) upper bound on v over all t settles most predictions ("cannot fire");
 * otherwise v is evaluated exactly on float-exponent time nodes until it reaches threshold, and
 * the crossing is refined by safeguarded Newton on the exact v(t), to ~1e-15 relative.
 */
#include <math.h>

#include "internal.h"

/* e^{-t/tau_m} expm1(t d) / d, stably for any d including 0. */
static inline double kernel(double t, double em, double d)
{
    double x = t * d;
    if (fabs(x) < 1e-8)
        return em * t * (1.0 + 0.5 * x);
    return em * expm1(x) / d;
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
    return EDS_OK;
}

double eds__exact_v(const eds__exact *m, double v0, double ie0, double ii0, double t)
{
    double em = exp(-t / m->p.tau_m);
    double v = m->v_inf + (v0 - m->v_inf) * em;
    if (!m->delta)
        v += (ie0 * kernel(t, em, m->d_e) + ii0 * kernel(t, em, m->d_i)) / m->p.cm;
    return v;
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
    double bound = fmax(m->v_inf, v0) + (fmax(ie0, 0.0) * m->k_e + fmax(ii0, 0.0) * m->k_i) / m->p.cm;
    if (bound < theta) {
        if (stats)
            stats->n_rejects++;
        *when = INFINITY;
        return EDS_OK;
    }
    if (stats)
        stats->n_predictions++;
    double t_a = 0.0;
    if (fabs(m->d_e) * m->p.tau_m > 1e-3 && fabs(m->d_i) * m->p.tau_m > 1e-3) {
        /* Safe steps: with v(t) = v_inf + A e^{-t/tau_m} + B_e e^{-t/tau_e} + B_i e^{-t/tau_i},
         * v'' = sum C e^{-t/tau} / tau^2 is at most M(t_a), the sum of its positive terms at t_a,
         * on all of [t_a, inf); so v cannot reach theta before t_a + delta with
         * v_a + v'_a delta + M delta^2 / 2 = theta. Where v is concave ahead (M = 0) this is
         * Newton's step, converging quadratically from below; an upper bound on v over
         * [t_a, inf) ends hopeless searches. */
        const double be = ie0 / m->p.cm / m->d_e, bi = ii0 / m->p.cm / m->d_i;
        const double a = (v0 - m->v_inf) - be - bi;
        const double tm = m->p.tau_m, te = m->p.tau_syn_e, ti = m->p.tau_syn_i;
        for (int it = 0; it < 200 && t_a < m->horizon; it++) {
            double em = exp(-t_a / tm), ee = exp(-t_a / te), ei = exp(-t_a / ti);
            double v_a = m->v_inf + a * em + be * ee + bi * ei;
            double d_a = -a * em / tm - be * ee / te - bi * ei / ti;
            double gap = theta - v_a;
            if (gap <= 1e-9 * fmax(1.0, fabs(theta))) {
                /* within 1e-9 of threshold from below: bracket forwards, then refine */
                double h = fmax(gap / fmax(d_a, 1e-300), 1e-12 * fmax(t_a, 1.0));
                for (int k = 0; k < 200; k++, h *= 2.0)
                    if (eds__exact_v(m, v0, ie0, ii0, t_a + h) >= theta) {
                        *when = refine(m, v0, ie0, ii0, t_a, t_a + h);
                        return EDS_OK;
                    }
                break;
            }
            double upper = m->v_inf + fmax(a * em, 0.0) + fmax(be * ee, 0.0) + fmax(bi * ei, 0.0);
            if (upper < theta)
                break; /* cannot reach threshold at any later time */
            double big_m = fmax(a * em, 0.0) / (tm * tm) + fmax(be * ee, 0.0) / (te * te) +
                           fmax(bi * ei, 0.0) / (ti * ti);
            double step = big_m > 0 ? (-d_a + sqrt(d_a * d_a + 2.0 * big_m * gap)) / big_m
                                    : (d_a > 0 ? gap / d_a : INFINITY);
            t_a += step;
        }
        t_a = fmin(t_a, m->horizon);
        if (m->v_inf > theta) {
            *when = t_a > 0 ? t_a : m->horizon;
            *recheck = 1;
        } else {
            *when = INFINITY;
        }
        return EDS_OK;
    }
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
