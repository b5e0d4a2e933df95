/* Time-driven (clock-driven) neuron models, stepped at a fixed dt inside the event loop.
 *
 * What it owns: each model's parameters, state layout, one-step integrator, input rule and
 * spike detection. The run loop (sim.c) calls step once per neuron per STEP event and sends any
 * spike through the same delivery path as event-driven neurons.
 *
 * Conventions every model keeps:
 *   - one step may fire at most once; the spike time is interpolated inside the step (cubic
 *     Hermite through the values and slopes at both ends), and the part of the step after the
 *     spike is integrated again from the reset state;
 *   - an input arriving `late` ms before the state's time is applied with the decay it would
 *     have had over that wait (its effect on v during the wait is the time-driven error);
 *   - no allocation, no failure: check() has validated the parameters.
 */
#include <math.h>

#include "internal.h"

/* Root in [0, 1] of the cubic Hermite with values c0 < 0 <= c1 and slopes d0, d1 (times h). */
static double hermite_root(double c0, double d0, double c1, double d1)
{
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 60; it++) {
        double s = 0.5 * (lo + hi), s2 = s * s, s3 = s2 * s;
        double f = (2 * s3 - 3 * s2 + 1) * c0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * c1 +
                   (s3 - s2) * d1;
        if (f >= 0.0)
            hi = s;
        else
            lo = s;
    }
    return hi;
}

/* ---- IF_cond_exp, clock-driven: the same equations as the table model ----
 * params: cm, tau_m, v_rest, v_thresh, v_reset, tau_refrac, tau_syn_E, tau_syn_I, e_rev_E,
 *         e_rev_I, i_offset
 * state:  v, ge, gi, refractory time left */
enum { LC_CM, LC_TAU_M, LC_V_REST, LC_V_THRESH, LC_V_RESET, LC_TAU_REFRAC, LC_TAU_E, LC_TAU_I,
       LC_E_E, LC_E_I, LC_I_OFFSET, LC_N_PARAMS };

static int lif_cond_check(const double *p)
{
    if (!(p[LC_CM] > 0 && p[LC_TAU_M] > 0 && p[LC_TAU_E] > 0 && p[LC_TAU_I] > 0 &&
          p[LC_TAU_REFRAC] >= 0 && p[LC_V_RESET] < p[LC_V_THRESH]))
        return EDS_INVALID;
    return EDS_OK;
}

static void lif_cond_init(const double *p, double *x)
{
    x[0] = p[LC_V_REST];
    x[1] = x[2] = x[3] = 0.0;
}

static inline double lif_cond_f(const double *p, double v, double ge, double gi)
{
    return (p[LC_CM] / p[LC_TAU_M] * (p[LC_V_REST] - v) + ge * (p[LC_E_E] - v) +
            gi * (p[LC_E_I] - v) + p[LC_I_OFFSET]) / p[LC_CM];
}

/* RK4 of v over h with the conductances decaying exactly from (ge, gi). */
static double lif_cond_rk4(const double *p, double v, double ge, double gi, double h)
{
    double he = exp(-0.5 * h / p[LC_TAU_E]), hi = exp(-0.5 * h / p[LC_TAU_I]);
    double k1 = lif_cond_f(p, v, ge, gi);
    double k2 = lif_cond_f(p, v + 0.5 * h * k1, ge * he, gi * hi);
    double k3 = lif_cond_f(p, v + 0.5 * h * k2, ge * he, gi * hi);
    double k4 = lif_cond_f(p, v + h * k3, ge * he * he, gi * hi * hi);
    return v + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
}

static void lif_cond_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    double v = x[0], ge = x[1], gi = x[2], refr = x[3];
    double t = 0.0; /* time within the step already integrated */
    if (refr > 0.0) {
        double held = fmin(refr, h);
        ge *= exp(-held / p[LC_TAU_E]);
        gi *= exp(-held / p[LC_TAU_I]);
        v = p[LC_V_RESET];
        refr -= held;
        t = held;
    }
    if (t < h) {
        double rest = h - t;
        double v1 = lif_cond_rk4(p, v, ge, gi, rest);
        double ge1 = ge * exp(-rest / p[LC_TAU_E]), gi1 = gi * exp(-rest / p[LC_TAU_I]);
        if (v1 >= p[LC_V_THRESH] && !*spiked) {
            double s = hermite_root(v - p[LC_V_THRESH], rest * lif_cond_f(p, v, ge, gi),
                                    v1 - p[LC_V_THRESH], rest * lif_cond_f(p, v1, ge1, gi1));
            double ts = t + s * rest;
            *spiked = 1;
            *offset = ts;
            ge *= exp(-(ts - t) / p[LC_TAU_E]);
            gi *= exp(-(ts - t) / p[LC_TAU_I]);
            x[0] = p[LC_V_RESET];
            x[1] = ge;
            x[2] = gi;
            x[3] = p[LC_TAU_REFRAC];
            /* the remainder of the step, from the reset */
            lif_cond_step(p, x, h - ts, spiked, offset);
            return;
        }
        v = v1;
        ge = ge1;
        gi = gi1;
    }
    x[0] = v;
    x[1] = ge;
    x[2] = gi;
    x[3] = refr;
}

static void lif_cond_input(const double *p, double *x, int receptor, double w, double late)
{
    if (receptor)
        x[2] += w * exp(-late / p[LC_TAU_I]);
    else
        x[1] += w * exp(-late / p[LC_TAU_E]);
}

static void lif_cond_project(const double *p, const double *x, double out[3])
{
    (void)p;
    out[0] = x[0];
    out[1] = x[1];
    out[2] = x[2];
}

static const eds__clock_ops lif_cond = {"IF_cond_exp (clock-driven)", LC_N_PARAMS, 4,
                                        lif_cond_check, lif_cond_init, lif_cond_step,
                                        lif_cond_input, lif_cond_project};

/* ---- registry ---- */

static const eds__clock_ops *const models[EDS_N_CLOCK_MODELS] = {
    [EDS_CLOCK_LIF_COND] = &lif_cond,
};

const eds__clock_ops *eds__clock_model(int model)
{
    return (model >= 0 && model < EDS_N_CLOCK_MODELS) ? models[model] : NULL;
}
