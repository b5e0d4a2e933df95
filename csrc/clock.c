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
 *   - sim.c splits a step at the arrival times of its inputs and calls step for each piece, so
 *     inputs act exactly when they arrive (input() is called with late = 0; a positive `late`
 *     would decay a conductance jump over that wait, a jump of v is applied as is);
 *   - models whose upswing blows up in finite time (Izhikevich, AdEx) integrate it in substeps
 *     that move v by a bounded amount, so that neither the crossing nor the state after it
 *     depends on one RK4 step straddling the singularity;
 *   - models without a reset (HH, FitzHugh-Nagumo, Hindmarsh-Rose) report upward crossings of a
 *     threshold: HH ignores those within its refractory time of the last spike, the others keep
 *     an "above threshold" flag in the state so that one excursion is one spike;
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

/* ---- shared machinery of the models below ----
 *
 * Each model integrates its n (<= 4) continuous variables with classical RK4; y[0] is the one
 * whose threshold defines a spike. Conductances, where a model has them, decay exactly: the RK4
 * stages see them at t, t + h/2 and t + h. */

#define MAX_VARS 4
/* Bounds the work of one step. Valid parameters need far fewer substeps (an AdEx upswing takes at
 * most 2 AD_EXP_SPIKE); past the bound the rest of the step is one RK4 step. */
#define MAX_SUBSTEPS 4096

typedef void (*rhs_fn)(const double *p, const double *y, double ge, double gi, double *dy);

typedef struct {
    rhs_fn f;
    int n;
    double tau_e, tau_i; /* conductance decay (ms); 0: the model has no conductances */
    double dv_max;       /* largest change of y[0] per substep, judged from its slope at the
                          * substep's start; INFINITY: whole steps */
} ode;

static double decay(double h, double tau)
{
    return tau > 0.0 ? exp(-h / tau) : 1.0;
}

/* One RK4 step of y and g = (ge, gi) over h. */
static void rk4(const ode *o, const double *p, double *y, double *g, double h)
{
    double de = decay(0.5 * h, o->tau_e), di = decay(0.5 * h, o->tau_i);
    double k1[MAX_VARS], k2[MAX_VARS], k3[MAX_VARS], k4[MAX_VARS], yt[MAX_VARS];
    int n = o->n;
    o->f(p, y, g[0], g[1], k1);
    for (int i = 0; i < n; i++)
        yt[i] = y[i] + 0.5 * h * k1[i];
    o->f(p, yt, g[0] * de, g[1] * di, k2);
    for (int i = 0; i < n; i++)
        yt[i] = y[i] + 0.5 * h * k2[i];
    o->f(p, yt, g[0] * de, g[1] * di, k3);
    for (int i = 0; i < n; i++)
        yt[i] = y[i] + h * k3[i];
    o->f(p, yt, g[0] * de * de, g[1] * di * di, k4);
    for (int i = 0; i < n; i++)
        y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    g[0] *= decay(h, o->tau_e);
    g[1] *= decay(h, o->tau_i);
}

/* Advances (y, g) by up to len ms, y[0] < theta on entry, in RK4 substeps short enough that y[0]
 * moves by about dv_max at most: models whose upswing blows up in finite time (Izhikevich, AdEx)
 * then resolve it instead of jumping over it. Stops at the first upward crossing of theta, located
 * by the cubic Hermite of the crossing substep, with (y, g) integrated to that instant and
 * *crossed = 1. Returns the time advanced. */
static double advance_to_crossing(const ode *o, const double *p, double *y, double *g, double len,
                                  double theta, int *crossed)
{
    double t = 0.0;
    *crossed = 0;
    for (int k = 0; t < len; k++) {
        double dy[MAX_VARS], y1[MAX_VARS], g1[2] = {g[0], g[1]};
        o->f(p, y, g[0], g[1], dy);
        double hs = len - t;
        if (k < MAX_SUBSTEPS && fabs(dy[0]) * hs > o->dv_max) {
            hs = o->dv_max / fabs(dy[0]);
            if (len - t - hs < 1e-3 * hs) /* no sliver at the end */
                hs = len - t;
        }
        memcpy(y1, y, (size_t)o->n * sizeof(double));
        rk4(o, p, y1, g1, hs);
        if (y1[0] >= theta) {
            double d1[MAX_VARS];
            o->f(p, y1, g1[0], g1[1], d1);
            double s = hermite_root(y[0] - theta, hs * dy[0], y1[0] - theta, hs * d1[0]);
            rk4(o, p, y, g, s * hs);
            *crossed = 1;
            return t + s * hs;
        }
        memcpy(y, y1, (size_t)o->n * sizeof(double));
        g[0] = g1[0];
        g[1] = g1[1];
        t = (hs == len - t) ? len : t + hs;
    }
    return len;
}

/* Upward crossing of theta by y[0] from y0 (< theta) to y1 (>= theta) over a step h with slopes
 * f0, f1 at its ends: the offset of the crossing within the step. */
static double crossing_offset(double y0, double f0, double y1, double f1, double theta, double h)
{
    return h * hermite_root(y0 - theta, h * f0, y1 - theta, h * f1);
}

/* x / (exp(x / k) - 1), continuous at x = 0 where it equals k. */
static double vtrap(double x, double k)
{
    double r = x / k;
    return fabs(r) < 1e-6 ? k * (1.0 - 0.5 * r) : x / expm1(r);
}

/* ---- HH_cond_exp: the Traub-Miles Hodgkin-Huxley neuron of Brette et al. (2007) benchmark 3 ----
 * params: gbar_Na, gbar_K, g_leak (uS), cm (nF), v_offset, e_rev_Na, e_rev_K, e_rev_leak, e_rev_E,
 *         e_rev_I (mV), tau_syn_E, tau_syn_I (ms), i_offset (nA), v_thresh (mV), tau_refrac (ms)
 * state:  v, m, h, n, ge, gi, refractory time left
 * No reset: a spike is an upward crossing of v_thresh, not reported while refractory. */
enum { HH_GNA, HH_GK, HH_GL, HH_CM, HH_VT, HH_ENA, HH_EK, HH_EL, HH_EE, HH_EI, HH_TAU_E, HH_TAU_I,
       HH_I_OFFSET, HH_V_THRESH, HH_TAU_REFRAC, HH_N_PARAMS };

static int hh_check(const double *p)
{
    if (!(p[HH_GNA] >= 0 && p[HH_GK] >= 0 && p[HH_GL] >= 0 && p[HH_CM] > 0 && p[HH_TAU_E] > 0 &&
          p[HH_TAU_I] > 0 && p[HH_TAU_REFRAC] >= 0))
        return EDS_INVALID;
    return EDS_OK;
}

/* Rate functions (1/ms) at u = v - v_offset (mV). */
static void hh_rates(double u, double *am, double *bm, double *ah, double *bh, double *an,
                     double *bn)
{
    *am = 0.32 * vtrap(13.0 - u, 4.0);
    *bm = 0.28 * vtrap(u - 40.0, 5.0);
    *ah = 0.128 * exp((17.0 - u) / 18.0);
    *bh = 4.0 / (1.0 + exp((40.0 - u) / 5.0));
    *an = 0.032 * vtrap(15.0 - u, 5.0);
    *bn = 0.5 * exp((10.0 - u) / 40.0);
}

static void hh_init(const double *p, double *x)
{
    double am, bm, ah, bh, an, bn, v = p[HH_EL];
    hh_rates(v - p[HH_VT], &am, &bm, &ah, &bh, &an, &bn);
    x[0] = v;
    x[1] = am / (am + bm);
    x[2] = ah / (ah + bh);
    x[3] = an / (an + bn);
    x[4] = x[5] = x[6] = 0.0;
}

static void hh_f(const double *p, const double *y, double ge, double gi, double *dy)
{
    double v = y[0], m = y[1], h = y[2], n = y[3];
    double am, bm, ah, bh, an, bn;
    hh_rates(v - p[HH_VT], &am, &bm, &ah, &bh, &an, &bn);
    double n2 = n * n;
    dy[0] = (p[HH_GL] * (p[HH_EL] - v) + p[HH_GNA] * m * m * m * h * (p[HH_ENA] - v) +
             p[HH_GK] * n2 * n2 * (p[HH_EK] - v) + ge * (p[HH_EE] - v) + gi * (p[HH_EI] - v) +
             p[HH_I_OFFSET]) / p[HH_CM];
    dy[1] = am * (1.0 - m) - bm * m;
    dy[2] = ah * (1.0 - h) - bh * h;
    dy[3] = an * (1.0 - n) - bn * n;
}

/* Fastest rate of the HH system at state y (1/ms): gate relaxation or membrane conductance. */
static double hh_stiffness(const double *p, const double *y, double ge, double gi)
{
    double am, bm, ah, bh, an, bn;
    hh_rates(y[0] - p[HH_VT], &am, &bm, &ah, &bh, &an, &bn);
    double n2 = y[3] * y[3];
    double g = p[HH_GL] + p[HH_GNA] * y[1] * y[1] * y[1] * y[2] + p[HH_GK] * n2 * n2 + ge + gi;
    return fmax(fmax(am + bm, ah + bh), fmax(an + bn, g / p[HH_CM]));
}

/* One step of h ms in RK4 substeps short enough for the spike's fast sodium kinetics: each
 * substep spans at most 0.5 / (fastest rate), so h = 0.1 ms stays stable (plain RK4 at 0.1 ms
 * diverges in the upstroke) while h = 0.01 ms away from spikes takes a single substep. */
static void hh_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    const ode o = {hh_f, 4, p[HH_TAU_E], p[HH_TAU_I], INFINITY};
    const double theta = p[HH_V_THRESH];
    double t = 0.0;
    while (t < h) {
        double hs = fmin(h - t, 0.5 / hh_stiffness(p, x, x[4], x[5]));
        if (h - t - hs < 1e-9 * h)
            hs = h - t;
        double y[4] = {x[0], x[1], x[2], x[3]}, g[2] = {x[4], x[5]};
        double f0[4], f1[4];
        rk4(&o, p, y, g, hs);
        double refr = fmax(x[6] - hs, 0.0);
        if (x[0] < theta && y[0] >= theta && !*spiked) {
            hh_f(p, x, x[4], x[5], f0);
            hh_f(p, y, g[0], g[1], f1);
            double ts = crossing_offset(x[0], f0[0], y[0], f1[0], theta, hs);
            if (x[6] <= ts) { /* refractoriness over by the crossing */
                *spiked = 1;
                *offset = t + ts;
                refr = fmax(p[HH_TAU_REFRAC] - (hs - ts), 0.0);
            }
        }
        memcpy(x, y, sizeof y);
        x[4] = g[0];
        x[5] = g[1];
        x[6] = refr;
        t += hs;
    }
}

static void cond_input(double *ge, double *gi, double tau_e, double tau_i, int receptor, double w,
                       double late)
{
    if (receptor)
        *gi += w * exp(-late / tau_i);
    else
        *ge += w * exp(-late / tau_e);
}

static void hh_input(const double *p, double *x, int receptor, double w, double late)
{
    cond_input(&x[4], &x[5], p[HH_TAU_E], p[HH_TAU_I], receptor, w, late);
}

static void hh_project(const double *p, const double *x, double out[3])
{
    (void)p;
    out[0] = x[0];
    out[1] = x[4];
    out[2] = x[5];
}

static const eds__clock_ops hh_cond = {"HH_cond_exp", HH_N_PARAMS, 7, hh_check, hh_init, hh_step,
                                       hh_input, hh_project};

/* ---- Izhikevich (2003) ----
 * params: a (1/ms), b (1/ms), c (mV), d (mV/ms), i_offset (nA; I = 1000 i_offset mV/ms, PyNN)
 * state:  v, u
 * Fires when v reaches 30 mV: v <- c, u <- u + d. An input of weight w adds w mV to v. */
enum { IZ_A, IZ_B, IZ_C, IZ_D, IZ_I_OFFSET, IZ_N_PARAMS };
#define IZ_V_PEAK 30.0
#define IZ_DV_MAX 1.0 /* mV per substep in the upswing */

static int izh_check(const double *p)
{
    return (p[IZ_A] >= 0 && p[IZ_C] < IZ_V_PEAK) ? EDS_OK : EDS_INVALID;
}

static void izh_init(const double *p, double *x)
{
    x[0] = -70.0;
    x[1] = p[IZ_B] * x[0];
}

static void izh_f(const double *p, const double *y, double ge, double gi, double *dy)
{
    (void)ge;
    (void)gi;
    double v = y[0], u = y[1];
    dy[0] = (0.04 * v + 5.0) * v + 140.0 - u + 1000.0 * p[IZ_I_OFFSET];
    dy[1] = p[IZ_A] * (p[IZ_B] * v - u);
}

static void izh_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    const ode o = {izh_f, 2, 0.0, 0.0, IZ_DV_MAX};
    double y[2] = {x[0], x[1]}, g[2] = {0.0, 0.0}, t = 0.0;
    if (y[0] >= IZ_V_PEAK) { /* an input or initialize() put v past the peak */
        *spiked = 1;
        *offset = 0.0;
        y[0] = p[IZ_C];
        y[1] += p[IZ_D];
    }
    while (t < h) {
        int crossed;
        t += advance_to_crossing(&o, p, y, g, h - t, IZ_V_PEAK, &crossed);
        if (!crossed)
            break;
        if (*spiked) { /* a second spike in one step: held at the peak, fires at the next step */
            y[0] = IZ_V_PEAK;
            break;
        }
        *spiked = 1;
        *offset = t;
        y[0] = p[IZ_C];
        y[1] += p[IZ_D];
    }
    x[0] = y[0];
    x[1] = y[1];
}

static void jump_input(double *v, double w)
{
    *v += w;
}

static void izh_input(const double *p, double *x, int receptor, double w, double late)
{
    (void)p;
    (void)receptor;
    (void)late; /* a jump has no decay; its lateness is the time-driven error */
    jump_input(&x[0], w);
}

static void izh_project(const double *p, const double *x, double out[3])
{
    (void)p;
    out[0] = x[0];
    out[1] = x[1];
    out[2] = 0.0;
}

static const eds__clock_ops izhikevich = {"Izhikevich", IZ_N_PARAMS, 2, izh_check, izh_init,
                                          izh_step, izh_input, izh_project};

/* ---- EIF_cond_exp_isfa_ista: adaptive exponential integrate-and-fire (Brette & Gerstner) ----
 * params: cm (nF), tau_refrac (ms), v_spike, v_reset, v_rest (mV), tau_m (ms), i_offset (nA),
 *         a (nS), b (nA), delta_T (mV), tau_w (ms), v_thresh, e_rev_E (mV), tau_syn_E (ms),
 *         e_rev_I (mV), tau_syn_I (ms)
 * state:  v, w, ge, gi, refractory time left
 * Fires when v reaches v_spike (v_thresh if delta_T = 0): v <- v_reset, held for tau_refrac while
 * w keeps relaxing (exactly, with v = v_reset); w <- w + b. */
enum { AD_CM, AD_TAU_REFRAC, AD_V_SPIKE, AD_V_RESET, AD_V_REST, AD_TAU_M, AD_I_OFFSET, AD_A, AD_B,
       AD_DELTA_T, AD_TAU_W, AD_V_THRESH, AD_E_E, AD_TAU_E, AD_E_I, AD_TAU_I, AD_N_PARAMS };
/* The exponent at v_spike is at most AD_EXP_SPIKE (as NEST's aeif models, which refuse parameters
 * whose exponential would overflow at the spike): the upswing then takes at most
 * 2 AD_EXP_SPIKE substeps of delta_T / 2, and its slopes stay finite. The exponent is capped at
 * AD_EXP_MAX, above anything an RK4 stage of the crossing substep reaches. */
#define AD_EXP_SPIKE 600.0
#define AD_EXP_MAX 650.0

static double adex_theta(const double *p)
{
    return p[AD_DELTA_T] > 0.0 ? p[AD_V_SPIKE] : p[AD_V_THRESH];
}

static int adex_check(const double *p)
{
    if (!(p[AD_CM] > 0 && p[AD_TAU_M] > 0 && p[AD_TAU_W] > 0 && p[AD_TAU_E] > 0 &&
          p[AD_TAU_I] > 0 && p[AD_TAU_REFRAC] >= 0 && p[AD_DELTA_T] >= 0 &&
          p[AD_V_SPIKE] >= p[AD_V_THRESH] && p[AD_V_RESET] < adex_theta(p)))
        return EDS_INVALID;
    if (p[AD_DELTA_T] > 0.0 && !(p[AD_V_SPIKE] - p[AD_V_THRESH] <= AD_EXP_SPIKE * p[AD_DELTA_T]))
        return EDS_INVALID;
    return EDS_OK;
}

static void adex_init(const double *p, double *x)
{
    x[0] = p[AD_V_REST];
    x[1] = x[2] = x[3] = x[4] = 0.0;
}

static void adex_f(const double *p, const double *y, double ge, double gi, double *dy)
{
    double v = y[0], w = y[1], gl = p[AD_CM] / p[AD_TAU_M];
    double spike = 0.0;
    if (p[AD_DELTA_T] > 0.0)
        spike = gl * p[AD_DELTA_T] *
                exp(fmin((v - p[AD_V_THRESH]) / p[AD_DELTA_T], AD_EXP_MAX));
    dy[0] = (gl * (p[AD_V_REST] - v) + spike - w + ge * (p[AD_E_E] - v) + gi * (p[AD_E_I] - v) +
             p[AD_I_OFFSET]) / p[AD_CM];
    dy[1] = (1e-3 * p[AD_A] * (v - p[AD_V_REST]) - w) / p[AD_TAU_W];
}

static void adex_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    const ode o = {adex_f, 2, p[AD_TAU_E], p[AD_TAU_I],
                   p[AD_DELTA_T] > 0.0 ? 0.5 * p[AD_DELTA_T] : INFINITY};
    const double theta = adex_theta(p);
    double y[2] = {x[0], x[1]}, g[2] = {x[2], x[3]}, refr = x[4], t = 0.0;
    while (t < h) {
        if (refr > 0.0) {
            /* v held at v_reset: w relaxes exactly towards a (v_reset - v_rest) */
            double held = fmin(refr, h - t);
            double w_inf = 1e-3 * p[AD_A] * (p[AD_V_RESET] - p[AD_V_REST]);
            y[0] = p[AD_V_RESET];
            y[1] = w_inf + (y[1] - w_inf) * exp(-held / p[AD_TAU_W]);
            g[0] *= exp(-held / p[AD_TAU_E]);
            g[1] *= exp(-held / p[AD_TAU_I]);
            refr -= held;
            t += held;
            if (t >= h)
                break;
        }
        int crossed = y[0] >= theta; /* initialize() may have put v past the threshold */
        if (!crossed)
            t += advance_to_crossing(&o, p, y, g, h - t, theta, &crossed);
        if (!crossed)
            break;
        if (*spiked) { /* a second spike in one step: held at threshold, fires at the next step */
            y[0] = theta;
            break;
        }
        *spiked = 1;
        *offset = t;
        y[0] = p[AD_V_RESET];
        y[1] += p[AD_B];
        refr = p[AD_TAU_REFRAC];
    }
    x[0] = y[0];
    x[1] = y[1];
    x[2] = g[0];
    x[3] = g[1];
    x[4] = refr;
}

static void adex_input(const double *p, double *x, int receptor, double w, double late)
{
    cond_input(&x[2], &x[3], p[AD_TAU_E], p[AD_TAU_I], receptor, w, late);
}

static void adex_project(const double *p, const double *x, double out[3])
{
    (void)p;
    out[0] = x[0];
    out[1] = x[1];
    out[2] = x[2];
}

static const eds__clock_ops adex_cond = {"EIF_cond_exp_isfa_ista", AD_N_PARAMS, 5, adex_check,
                                         adex_init, adex_step, adex_input, adex_project};

/* ---- models without reset: a spike is an upward crossing of a threshold ----
 * The state ends with a flag "above threshold", so that one excursion is reported once, also when
 * an input jumped the variable over the threshold (reported at the start of the next step). */

static void crossing_step(const ode *o, const double *p, double *x, double theta, double h,
                          int *spiked, double *offset)
{
    int n = o->n;
    double y[MAX_VARS], g[2] = {0.0, 0.0}, f0[MAX_VARS], f1[MAX_VARS];
    int above = x[n] != 0.0;
    memcpy(y, x, (size_t)n * sizeof(double));
    if (!above && y[0] >= theta) {
        *spiked = 1;
        *offset = 0.0;
    }
    above = y[0] >= theta;
    rk4(o, p, y, g, h);
    if (!above && y[0] >= theta && !*spiked) {
        o->f(p, x, 0.0, 0.0, f0);
        o->f(p, y, 0.0, 0.0, f1);
        *spiked = 1;
        *offset = crossing_offset(x[0], f0[0], y[0], f1[0], theta, h);
    }
    memcpy(x, y, (size_t)n * sizeof(double));
    x[n] = y[0] >= theta ? 1.0 : 0.0;
}

static void jump_project(const double *p, const double *x, double out[3], int n)
{
    (void)p;
    out[0] = x[0];
    out[1] = x[1];
    out[2] = n > 2 ? x[2] : 0.0;
}

/* ---- FitzHugh-Nagumo (dimensionless, time in ms) ----
 * params: a, b, tau (ms), I, v_thresh
 * state:  v, w, above threshold
 * dv/dt = v - v^3/3 - w + I, dw/dt = (v + a - b w) / tau; an input of weight w adds w to v. */
enum { FN_A, FN_B, FN_TAU, FN_I, FN_V_THRESH, FN_N_PARAMS };

static int fhn_check(const double *p)
{
    return (p[FN_TAU] > 0 && p[FN_B] >= 0) ? EDS_OK : EDS_INVALID;
}

static void fhn_init(const double *p, double *x)
{
    x[0] = -1.2;
    x[1] = -0.625;
    x[2] = x[0] >= p[FN_V_THRESH] ? 1.0 : 0.0;
}

static void fhn_f(const double *p, const double *y, double ge, double gi, double *dy)
{
    (void)ge;
    (void)gi;
    double v = y[0], w = y[1];
    dy[0] = v - v * v * v / 3.0 - w + p[FN_I];
    dy[1] = (v + p[FN_A] - p[FN_B] * w) / p[FN_TAU];
}

static void fhn_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    const ode o = {fhn_f, 2, 0.0, 0.0, INFINITY};
    crossing_step(&o, p, x, p[FN_V_THRESH], h, spiked, offset);
}

static void fhn_input(const double *p, double *x, int receptor, double w, double late)
{
    (void)p;
    (void)receptor;
    (void)late;
    jump_input(&x[0], w);
}

static void fhn_project(const double *p, const double *x, double out[3])
{
    jump_project(p, x, out, 2);
}

static const eds__clock_ops fhn = {"FitzHughNagumo", FN_N_PARAMS, 3, fhn_check, fhn_init, fhn_step,
                                   fhn_input, fhn_project};

/* ---- Hindmarsh-Rose (dimensionless, time in ms) ----
 * params: a, b, c, d, r (1/ms), s, x_R, I, x_thresh
 * state:  x, y, z, above threshold
 * dx/dt = y - a x^3 + b x^2 - z + I, dy/dt = c - d x^2 - y, dz/dt = r (s (x - x_R) - z);
 * an input of weight w adds w to x. */
enum { HR_A, HR_B, HR_C, HR_D, HR_R, HR_S, HR_XR, HR_I, HR_X_THRESH, HR_N_PARAMS };

static int hr_check(const double *p)
{
    return (p[HR_A] > 0 && p[HR_R] >= 0) ? EDS_OK : EDS_INVALID;
}

static void hr_init(const double *p, double *x)
{
    x[0] = p[HR_XR];
    x[1] = p[HR_C] - p[HR_D] * x[0] * x[0];
    x[2] = 0.0;
    x[3] = x[0] >= p[HR_X_THRESH] ? 1.0 : 0.0;
}

static void hr_f(const double *p, const double *y, double ge, double gi, double *dy)
{
    (void)ge;
    (void)gi;
    double x = y[0], x2 = x * x;
    dy[0] = y[1] - p[HR_A] * x2 * x + p[HR_B] * x2 - y[2] + p[HR_I];
    dy[1] = p[HR_C] - p[HR_D] * x2 - y[1];
    dy[2] = p[HR_R] * (p[HR_S] * (x - p[HR_XR]) - y[2]);
}

static void hr_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    const ode o = {hr_f, 3, 0.0, 0.0, INFINITY};
    crossing_step(&o, p, x, p[HR_X_THRESH], h, spiked, offset);
}

static void hr_input(const double *p, double *x, int receptor, double w, double late)
{
    (void)p;
    (void)receptor;
    (void)late;
    jump_input(&x[0], w);
}

static void hr_project(const double *p, const double *x, double out[3])
{
    jump_project(p, x, out, 3);
}

static const eds__clock_ops hindmarsh_rose = {"HindmarshRose", HR_N_PARAMS, 4, hr_check, hr_init,
                                              hr_step, hr_input, hr_project};

/* ---- registry ---- */

static const eds__clock_ops *const models[EDS_N_CLOCK_MODELS] = {
    [EDS_CLOCK_LIF_COND] = &lif_cond,
    [EDS_CLOCK_HH_COND] = &hh_cond,
    [EDS_CLOCK_IZHIKEVICH] = &izhikevich,
    [EDS_CLOCK_ADEX_COND] = &adex_cond,
    [EDS_CLOCK_FHN] = &fhn,
    [EDS_CLOCK_HR] = &hindmarsh_rose,
};

const eds__clock_ops *eds__clock_model(int model)
{
    return (model >= 0 && model < EDS_N_CLOCK_MODELS) ? models[model] : NULL;
}
