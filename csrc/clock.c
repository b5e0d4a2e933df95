/* Time-driven (clock-driven) neuron models, stepped at a fixed dt inside the event loop.
 *
 * What it owns: each model's parameters, state layout, one-step integrator, input rule and
 * spike detection. The run loop (sim.c) calls step once per neuron per STEP event (or, where a
 * model has it, step_run once per run of neurons without input in the step) and sends any spike
 * through the same delivery path as event-driven neurons.
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
 *     depends on one RK4 step straddling the singularity; HH, stiff in its spike, takes substeps
 *     bounded by its fastest rate and by the change of v, RK4 or (where v is quiet) RK3;
 *   - models without a reset (HH, FitzHugh-Nagumo, Hindmarsh-Rose) report upward crossings of a
 *     threshold: HH ignores those within its refractory time of the last spike, the others keep
 *     an "above threshold" flag in the state so that one excursion is one spike;
 *   - no allocation, no failure: check() has validated the parameters.
 */
#include <math.h>

#include "internal.h"
#include "hh_rates.h"
#include "numerics.h"

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

/* v over h from (v, s1, s2) without input, and dv/dt: the part of a model below that differs */
typedef double (*lif_propagator)(const double *p, double v, double s1, double s2, double h);
typedef double (*lif_slope)(const double *p, double v, double s1, double s2);

/* One step of an integrate-and-fire model whose two synaptic variables decay exponentially
 * (IF_cond_exp, IF_curr_exp; their parameters at the LC_ places): v held at v_reset while
 * refractory, then the model's propagator over the rest of the step; a crossing at its end is
 * located by the cubic Hermite and the rest of the step integrated again from the reset. */
static inline void lif_syn_step(const double *p, double *x, double h, int *spiked,
                                double *offset, lif_propagator propagate, lif_slope slope)
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
        double v1 = propagate(p, v, ge, gi, rest);
        double ge1 = ge * exp(-rest / p[LC_TAU_E]), gi1 = gi * exp(-rest / p[LC_TAU_I]);
        if (v1 >= p[LC_V_THRESH] && !*spiked) {
            double s = hermite_root(v - p[LC_V_THRESH], rest * slope(p, v, ge, gi),
                                    v1 - p[LC_V_THRESH], rest * slope(p, v1, ge1, gi1));
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
            lif_syn_step(p, x, h - ts, spiked, offset, propagate, slope);
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

static void lif_cond_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    lif_syn_step(p, x, h, spiked, offset, lif_cond_rk4, lif_cond_f);
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
                                        lif_cond_input, lif_cond_project, NULL};

/* ---- IF_curr_exp and IF_curr_delta, clock-driven: the event-driven models' equations ----
 * Between inputs both are linear, so a step is their exact propagator (as NEST's grid models
 * iaf_psc_exp and iaf_psc_delta); what the clock changes is that a crossing is looked for at
 * the end of each piece of a step (a brief excursion above threshold inside one is missed) and
 * located by the cubic Hermite through both ends, where the event-driven models solve for it.
 * params (curr): cm, tau_m, v_rest, v_thresh, v_reset, tau_refrac, tau_syn_E, tau_syn_I, i_offset
 * params (delta): cm, tau_m, v_rest, v_thresh, v_reset, tau_refrac, i_offset
 * state: v, [i_e, i_i,] refractory time left */
enum { LI_CM, LI_TAU_M, LI_V_REST, LI_V_THRESH, LI_V_RESET, LI_TAU_REFRAC, LI_TAU_E, LI_TAU_I,
       LI_I_OFFSET, LI_N_PARAMS };
enum { LD_I_OFFSET = LI_TAU_E, LD_N_PARAMS };

/* v's response to a current decaying with tau_s from 1 nA at 0, times cm: e^{-t/tau_m}
 * (e^{t d} - 1) / d with d = 1/tau_m - 1/tau_s (t e^{-t/tau_m} at d = 0; expm1 keeps it exact
 * near there) */
static inline double curr_kernel(double t, double tau_m, double tau_s)
{
    double d = 1.0 / tau_m - 1.0 / tau_s;
    double k = d == 0.0 ? t : expm1(t * d) / d;
    return exp(-t / tau_m) * k;
}

static inline double lif_curr_v_inf(const double *p)
{
    return p[LI_V_REST] + p[LI_I_OFFSET] * p[LI_TAU_M] / p[LI_CM];
}

static inline double lif_curr_f(const double *p, double v, double ie, double ii)
{
    return (lif_curr_v_inf(p) - v) / p[LI_TAU_M] + (ie + ii) / p[LI_CM];
}

/* the exact v over h */
static double lif_curr_v(const double *p, double v, double ie, double ii, double h)
{
    double v_inf = lif_curr_v_inf(p);
    return v_inf + (v - v_inf) * exp(-h / p[LI_TAU_M]) +
           (ie * curr_kernel(h, p[LI_TAU_M], p[LI_TAU_E]) +
            ii * curr_kernel(h, p[LI_TAU_M], p[LI_TAU_I])) / p[LI_CM];
}

/* the check, initial state, step, inputs and projection are lif_cond's: the same state layout,
 * and the parameters they read at the same places */
_Static_assert((int)LI_CM == (int)LC_CM && (int)LI_TAU_M == (int)LC_TAU_M &&
                   (int)LI_V_REST == (int)LC_V_REST && (int)LI_V_THRESH == (int)LC_V_THRESH &&
                   (int)LI_V_RESET == (int)LC_V_RESET && (int)LI_TAU_REFRAC == (int)LC_TAU_REFRAC &&
                   (int)LI_TAU_E == (int)LC_TAU_E && (int)LI_TAU_I == (int)LC_TAU_I,
               "lif_curr shares lif_cond's check, init, step and input");

static void lif_curr_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    lif_syn_step(p, x, h, spiked, offset, lif_curr_v, lif_curr_f);
}

static const eds__clock_ops lif_curr = {"IF_curr_exp (clock-driven)", LI_N_PARAMS, 4,
                                        lif_cond_check, lif_cond_init, lif_curr_step,
                                        lif_cond_input, lif_cond_project, NULL};

static int lif_delta_check(const double *p)
{
    if (!(p[LI_CM] > 0 && p[LI_TAU_M] > 0 && p[LI_TAU_REFRAC] >= 0 &&
          p[LI_V_RESET] < p[LI_V_THRESH]))
        return EDS_INVALID;
    return EDS_OK;
}

static void lif_delta_init(const double *p, double *x)
{
    x[0] = p[LI_V_REST];
    x[1] = 0.0;
}

static void lif_delta_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    double v = x[0], refr = x[1], t = 0.0;
    if (refr > 0.0) {
        double held = fmin(refr, h);
        v = p[LI_V_RESET];
        refr -= held;
        t = held;
    }
    if (t < h) {
        double rest = h - t, v_inf = p[LI_V_REST] + p[LD_I_OFFSET] * p[LI_TAU_M] / p[LI_CM];
        double v1 = v_inf + (v - v_inf) * exp(-rest / p[LI_TAU_M]);
        if ((v >= p[LI_V_THRESH] || v1 >= p[LI_V_THRESH]) && !*spiked) { /* a jump: v >= v_thresh */
            /* v is monotonic here: the crossing in closed form (at once if a jump reached it) */
            double ts = v >= p[LI_V_THRESH]
                            ? t
                            : t + p[LI_TAU_M] * log((v_inf - v) / (v_inf - p[LI_V_THRESH]));
            if (!(ts <= h)) /* rounding at the end of the piece */
                ts = h;
            *spiked = 1;
            *offset = ts;
            x[0] = p[LI_V_RESET];
            x[1] = p[LI_TAU_REFRAC];
            lif_delta_step(p, x, h - ts, spiked, offset);
            return;
        }
        v = v1;
    }
    x[0] = v;
    x[1] = refr;
}

static void lif_delta_input(const double *p, double *x, int receptor, double w, double late)
{
    (void)p;
    (void)receptor;
    (void)late;
    if (!(x[1] > 0.0)) /* lost while refractory, as the event-driven model */
        x[0] += w;
}

static void lif_delta_project(const double *p, const double *x, double out[3])
{
    (void)p;
    out[0] = x[0];
    out[1] = out[2] = 0.0;
}

static const eds__clock_ops lif_delta = {"IF_curr_delta (clock-driven)", LD_N_PARAMS, 2,
                                         lif_delta_check, lif_delta_init, lif_delta_step,
                                         lif_delta_input, lif_delta_project, NULL};

/* ---- shared machinery of the models below ----
 *
 * Each model integrates its n (<= 4) continuous variables with classical RK4 (HH: its own
 * substeps below); y[0] is the one whose threshold defines a spike. Conductances, where a model
 * has them, decay exactly: the RK4 stages see them at t, t + h/2 and t + h. */

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

/* e^{-x} for x >= 0, a conductance's decay over a (half) substep: for x <= 1/32 (half steps of
 * 0.05 ms with time constants of 1.6 ms and more) by its degree-7 Taylor polynomial (truncation
 * < 4e-17 relative), else eds__exp. */
static inline double decay_factor(double x)
{
    if (x <= 0.03125)
        return 1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6 - x * (1.0 / 24 - x * (1.0 / 120 -
                                                        x * (1.0 / 720 - x * (1.0 / 5040)))))));
    return eds__exp(-x);
}

/* ---- HH_cond_exp: the Traub-Miles Hodgkin-Huxley neuron of Brette et al. (2007) benchmark 3 ----
 * params: gbar_Na, gbar_K, g_leak (uS), cm (nF), v_offset, e_rev_Na, e_rev_K, e_rev_leak, e_rev_E,
 *         e_rev_I (mV), tau_syn_E, tau_syn_I (ms), i_offset (nA), v_thresh (mV), tau_refrac (ms)
 * state:  v, m, h, n, ge, gi, refractory time left
 * No reset: a spike is an upward crossing of v_thresh, not reported while refractory. */
enum { HH_GNA, HH_GK, HH_GL, HH_CM, HH_VT, HH_ENA, HH_EK, HH_EL, HH_EE, HH_EI, HH_TAU_E, HH_TAU_I,
       HH_I_OFFSET, HH_V_THRESH, HH_TAU_REFRAC, HH_N_PARAMS };
enum { HH_N_STATE = 7 };

static int hh_check(const double *p)
{
    if (!(p[HH_GNA] >= 0 && p[HH_GK] >= 0 && p[HH_GL] >= 0 && p[HH_CM] > 0 && p[HH_TAU_E] > 0 &&
          p[HH_TAU_I] > 0 && p[HH_TAU_REFRAC] >= 0))
        return EDS_INVALID;
    return EDS_OK;
}

/* z / (e^z - 1) from z and e^z: its Taylor series (Bernoulli numbers) where the difference would
 * cancel, |z| < 0.1 (next term < 3e-18); elsewhere the quotient, whose e^z - 1 then loses at most
 * ~3 bits. */
static inline double zexpm1(double z, double ez)
{
    if (fabs(z) < 0.1) {
        double z2 = z * z;
        return 1.0 - 0.5 * z +
               z2 * (1.0 / 12 + z2 * (-1.0 / 720 + z2 * (1.0 / 30240 + z2 * (-1.0 / 1209600 +
                                                                          z2 / 47900160))));
    }
    return z / (ez - 1.0);
}

/* Rate functions (1/ms) at u = v - v_offset (mV): r = {am, bm, ah, bh, an, bn}, for the initial
 * state and where u leaves the table that hh_f reads (hh_rates.h). One exp,
 * w = e^{-u/360}, gives all six: e^{-u/40} = w^9, e^{-u/18} = w^20, e^{-u/5} = w^72 and
 * e^{-u/4} = w^90 (ten products). Against the formulas with expm1: relative error < 2e-13 near
 * the removable singularities (u = 13, 15, 40), ~1e-14 elsewhere (4e6 values of u).
 * Beyond |u| = 1000 mV (no neuron gets there; a state set by hand may), the formulas themselves. */
static void hh_rates_formulas(double u, double r[6])
{
    r[0] = 0.32 * vtrap(13.0 - u, 4.0);
    r[1] = 0.28 * vtrap(u - 40.0, 5.0);
    r[2] = 0.128 * exp((17.0 - u) / 18.0);
    r[3] = 4.0 / (1.0 + exp((40.0 - u) / 5.0));
    r[4] = 0.032 * vtrap(15.0 - u, 5.0);
    r[5] = 0.5 * exp((10.0 - u) / 40.0);
}

static inline void hh_rates(double u, double r[6])
{
    if (!(fabs(u) <= 1000.0)) {
        hh_rates_formulas(u, r);
        return;
    }
    const double w = eds__exp_core(-u * 0x1.6c16c16c16c17p-9); /* |u| / 360 < 3 */
    const double w2 = w * w, w4 = w2 * w2, w8 = w4 * w4, w16 = w8 * w8;
    const double e40 = w8 * w, e18 = w16 * w4;                   /* e^{-u/40}, e^{-u/18} */
    const double w18 = e40 * e40, w36 = w18 * w18, e5 = w36 * w36; /* e^{-u/5} */
    const double e4 = e5 * w18;                                  /* e^{-u/4} */
    /* am = 0.32 (13 - u) / (e^{(13 - u)/4} - 1),  e^{13/4} = 0x1.9ca53b781114bp+4 */
    r[0] = 1.28 * zexpm1(0.25 * (13.0 - u), 0x1.9ca53b781114bp+4 * e4);
    /* bm = 0.28 (u - 40) / (e^{(u - 40)/5} - 1),  e^{-8} = 0x1.5fc21041027adp-12 */
    r[1] = 1.4 * zexpm1(0.2 * (u - 40.0), 0x1.5fc21041027adp-12 / e5);
    /* ah = 0.128 e^{(17 - u)/18},  0.128 e^{17/18} = 0x1.5109581b10354p-2 */
    r[2] = 0x1.5109581b10354p-2 * e18;
    /* bh = 4 / (1 + e^{(40 - u)/5}),  e^8 = 0x1.749ea7d470c6ep+11 */
    r[3] = 4.0 / (1.0 + 0x1.749ea7d470c6ep+11 * e5);
    /* an = 0.032 (15 - u) / (e^{(15 - u)/5} - 1),  e^3 = 0x1.415e5bf6fb106p+4 */
    r[4] = 0.16 * zexpm1(0.2 * (15.0 - u), 0x1.415e5bf6fb106p+4 * e5);
    /* bn = 0.5 e^{(10 - u)/40},  0.5 e^{1/4} = 0x1.48b5e3c3e8186p-1 */
    r[5] = 0x1.48b5e3c3e8186p-1 * e40;
}

static void hh_init(const double *p, double *x)
{
    double r[6], v = p[HH_EL];
    hh_rates(v - p[HH_VT], r);
    x[0] = v;
    x[1] = r[0] / (r[0] + r[1]);
    x[2] = r[2] / (r[2] + r[3]);
    x[3] = r[4] / (r[4] + r[5]);
    x[4] = x[5] = x[6] = 0.0;
}

/* The right-hand side and the substep inline into each caller: the compiler's own judgement
 * keeps them out of line (a quarter more instructions) */
#define HH_INLINE static inline __attribute__((always_inline))

/* The constants of hh_f, gathered once per step (loads the compiler need not repeat). */
typedef struct {
    double vt, g_na, g_k, g_l, e_na, e_k, e_e, e_i, i_l, inv_cm; /* i_l = g_l e_l + i_offset */
    eds__v2 tau;                                                 /* (tau_syn_E, tau_syn_I) */
} hh_consts;

static void hh_consts_of(const double *p, hh_consts *k)
{
    *k = (hh_consts){p[HH_VT], p[HH_GNA], p[HH_GK], p[HH_GL], p[HH_ENA], p[HH_EK], p[HH_EE],
                     p[HH_EI], p[HH_GL] * p[HH_EL] + p[HH_I_OFFSET], 1.0 / p[HH_CM],
                     {p[HH_TAU_E], p[HH_TAU_I]}};
}

/* HH's integrated state in two pairs of lanes: (m, h) and (v, n). The gate pair follows one
 * rule, alpha - (alpha + beta) gate, so it takes vector operations; every lane sees the same IEEE
 * operations in the same order as a scalar loop would. */
typedef struct {
    eds__v2 mh, vn;
} hh_y;

static inline eds__v2 v2(double a, double b)
{
    return (eds__v2){a, b};
}

/* dy/dt of (v, m, h, n) at conductances gs = (ge, gi). With `fastest`, also the fastest rate of
 * the system there (1/ms): the largest gate relaxation rate alpha + beta, or the membrane's total
 * conductance / cm. */
HH_INLINE hh_y hh_f(const hh_consts *c, hh_y y, eds__v2 gs, double *fastest)
{
    double v = y.vn[0], n = y.vn[1], m = y.mh[0], h = y.mh[1], ge = gs[0], gi = gs[1];
    eds__v2 r[3]; /* (alpha_m, alpha_h), (k_m, k_h), (alpha_n, k_n); k = alpha + beta */
    if (!eds__hh_rates_tab_v(v - c->vt, r)) { /* beyond the table: the closed forms */
        double q[6];
        hh_rates(v - c->vt, q);
        r[0] = v2(q[0], q[2]);
        r[1] = v2(q[0] + q[1], q[2] + q[3]);
        r[2] = v2(q[4], q[4] + q[5]);
    }
    double n2 = n * n, g_na = c->g_na * m * m * m * h, g_k = c->g_k * n2 * n2;
    double g = c->g_l + g_na + g_k + ge + gi;
    double dv = (c->i_l + g_na * c->e_na + g_k * c->e_k + ge * c->e_e + gi * c->e_i - g * v) *
                c->inv_cm;
    hh_y dy = {r[0] - r[1] * y.mh, v2(dv, r[2][0] - r[2][1] * n)};
    if (fastest) {
        double k_m = r[1][0], k_h = r[1][1], k_n = r[2][1];
        double k = k_m > k_h ? k_m : k_h, k_v = g * c->inv_cm;
        k = k > k_n ? k : k_n;
        *fastest = k > k_v ? k : k_v;
    }
    return dy;
}

/* Substeps of the HH step: each at most HH_STIFF / (fastest rate), inside the stability interval
 * of RK4 (2.78) and of Kutta's RK3 (2.51) on decaying modes, and short enough that v moves by at
 * most about HH_DV mV (the upstroke and the downstroke of a spike). A substep along which v moves
 * by at most HH_QUIET mV (most substeps: between spikes) takes Kutta's third-order method (three
 * evaluations), the others classical RK4 (four). Spike-time errors against DOP853 (the two
 * single-neuron tests of tests/test_clock_models.py): see HH_cond_exp's docstring. */
#define HH_STIFF 2.0
#define HH_DV 4.0
#define HH_QUIET 0.5

/* y + a k, on both pairs */
static inline hh_y hh_axpy(hh_y y, double a, hh_y k)
{
    const eds__v2 av = {a, a};
    return (hh_y){y.mh + av * k.mh, y.vn + av * k.vn};
}

/* (e^{-x0}, e^{-x1}) for x >= 0: decay_factor on each lane, its polynomial on both at once. */
static inline eds__v2 decay_factor2(eds__v2 x)
{
    if (x[0] <= 0.03125 && x[1] <= 0.03125) {
        const eds__v2 one = {1.0, 1.0};
        return one - x * (one - x * (0.5 - x * (1.0 / 6 - x * (1.0 / 24 - x * (1.0 / 120 -
                                                     x * (1.0 / 720 - x * (1.0 / 5040)))))));
    }
    return v2(decay_factor(x[0]), decay_factor(x[1]));
}

/* The conductances' decay over half a substep of hs ms. */
static inline eds__v2 hh_half_decay(const hh_consts *c, double hs)
{
    const double hh = 0.5 * hs;
    return decay_factor2(v2(hh, hh) / c->tau);
}

/* One substep of hs ms from (y, gs) with f0 = f(y, gs) and d = hh_half_decay(c, hs) given: y and
 * gs advanced in place. */
HH_INLINE void hh_substep(const hh_consts *c, hh_y *y, eds__v2 *gs, hh_y f0, double hs,
                          eds__v2 d, int quiet)
{
    const double hh = 0.5 * hs;
    const eds__v2 g_h = *gs * d, g_1 = g_h * d;
    hh_y k2 = hh_f(c, hh_axpy(*y, hh, f0), g_h, NULL);
    if (quiet) { /* Kutta: y + hs (k1 + 4 k2 + k3) / 6, k3 at y + hs (2 k2 - k1) */
        const eds__v2 two = {2.0, 2.0}, four = {4.0, 4.0};
        hh_y k3 = hh_f(c, hh_axpy(*y, hs, (hh_y){two * k2.mh - f0.mh, two * k2.vn - f0.vn}),
                       g_1, NULL);
        *y = hh_axpy(*y, hs / 6.0, (hh_y){f0.mh + four * k2.mh + k3.mh,
                                         f0.vn + four * k2.vn + k3.vn});
    } else {
        const eds__v2 two = {2.0, 2.0};
        hh_y k3 = hh_f(c, hh_axpy(*y, hh, k2), g_h, NULL);
        hh_y k4 = hh_f(c, hh_axpy(*y, hs, k3), g_1, NULL);
        *y = hh_axpy(*y, hs / 6.0, (hh_y){f0.mh + two * k2.mh + two * k3.mh + k4.mh,
                                         f0.vn + two * k2.vn + two * k3.vn + k4.vn});
    }
    *gs = g_1;
}

/* hh_step's start: one quiet substep over the whole step of h ms without a crossing (most steps
 * between spikes), with c and d = hh_half_decay(c, h) given. Returns 1 with x advanced, or 0 with
 * x untouched and f0 = f(x) and its fastest rate, for hh_step_from to go on from. */
HH_INLINE int hh_quiet_step(const hh_consts *c, eds__v2 d, double theta, double h, double *x,
                            hh_y *f0, double *fastest)
{
    hh_y y = {eds__v2_load(x + 1), v2(x[0], x[3])};
    eds__v2 gs = eds__v2_load(x + 4);
    *f0 = hh_f(c, y, gs, fastest);
    /* hh_step's h_max = HH_STIFF / fastest >= h (the margin covers the rounding of both sides;
     * fastest > 0 as k_m is); the quiet bound dv h <= HH_QUIET keeps HH_DV / dv above h */
    if (!(*fastest * h <= HH_STIFF * (1.0 - 0x1p-50) && fabs(f0->vn[0]) * h <= HH_QUIET))
        return 0;
    const double v0 = y.vn[0];
    hh_substep(c, &y, &gs, *f0, h, d, 1);
    if (v0 < theta && y.vn[0] >= theta)
        return 0;
    x[0] = y.vn[0];
    x[1] = y.mh[0];
    x[2] = y.mh[1];
    x[3] = y.vn[1];
    memcpy(x + 4, &gs, sizeof gs);
    x[6] = x[6] > h ? x[6] - h : 0.0;
    return 1;
}

/* One step of h ms where hh_quiet_step's is not, with c, d = hh_half_decay(c, h), f0 = f(x) and
 * its fastest rate given: substeps as above, the spike time by the cubic Hermite of the substep
 * that crossed v_thresh. Out of line: the common case inlines into two callers, this one (three
 * times its code) once. */
static __attribute__((noinline)) void hh_step_from(const double *p, const hh_consts *c,
                                                   eds__v2 d, double *x, double h, hh_y f0,
                                                   double fastest, int *spiked, double *offset)
{
    const double theta = p[HH_V_THRESH], h_min = h / MAX_SUBSTEPS;
    hh_y y = {eds__v2_load(x + 1), v2(x[0], x[3])};
    eds__v2 gs = eds__v2_load(x + 4);
    double refr = x[6], t = 0.0;
    for (int first = 1; t < h; first = 0) {
        if (!first)
            f0 = hh_f(c, y, gs, &fastest);
        double rest = h - t, h_max = HH_STIFF / fastest, dv = fabs(f0.vn[0]);
        if (dv * h_max > HH_DV)
            h_max = HH_DV / dv;
        if (!(h_max > h_min)) /* bounded work: at most MAX_SUBSTEPS, one if v' or rates are NaN */
            h_max = isnan(h_max) ? rest : h_min;
        double hs = rest;
        if (rest > h_max) { /* equal substeps over the rest, rather than a sliver at its end */
            double k = ceil(rest / h_max - 1e-9); /* (not one more for a rounding excess) */
            hs = rest / k;
        }
        const double v0 = y.vn[0];
        hh_substep(c, &y, &gs, f0, hs, hs == h ? d : hh_half_decay(c, hs), dv * hs <= HH_QUIET);
        double refr1 = refr > hs ? refr - hs : 0.0;
        if (v0 < theta && y.vn[0] >= theta && !*spiked) {
            const hh_y f1 = hh_f(c, y, gs, NULL);
            double ts = crossing_offset(v0, f0.vn[0], y.vn[0], f1.vn[0], theta, hs);
            if (refr <= ts) { /* refractoriness over by the crossing */
                *spiked = 1;
                *offset = t + ts;
                refr1 = fmax(p[HH_TAU_REFRAC] - (hs - ts), 0.0);
            }
        }
        refr = refr1;
        t = hs == rest ? h : t + hs;
    }
    x[0] = y.vn[0];
    x[1] = y.mh[0];
    x[2] = y.mh[1];
    x[3] = y.vn[1];
    memcpy(x + 4, &gs, sizeof gs);
    x[6] = refr;
}

/* One step of h ms with c and d = hh_half_decay(c, h) given. A step of 0.1 ms between spikes is
 * one substep. */
HH_INLINE void hh_step_with(const double *p, const hh_consts *c, eds__v2 d, double *x,
                            double h, int *spiked, double *offset)
{
    double fastest;
    hh_y f0;
    if (!hh_quiet_step(c, d, p[HH_V_THRESH], h, x, &f0, &fastest))
        hh_step_from(p, c, d, x, h, f0, fastest, spiked, offset);
}

static void hh_step(const double *p, double *x, double h, int *spiked, double *offset)
{
    hh_consts c;
    hh_consts_of(p, &c);
    hh_step_with(p, &c, hh_half_decay(&c, h), x, h, spiked, offset);
}

/* ---- Four neurons at once on the quiet path (hh_step_run) ----
 * A quiet step is the same arithmetic on independent data for every neuron, so four consecutive
 * neurons take it together, each a lane of four-double vectors (v, m, h, n, ge, gi: the state
 * transposed): the arithmetic of hh_f and hh_substep once for four neurons, where it took one
 * scalar or pair operation per neuron. Only the rate table's Horner stays per neuron (each reads
 * its own cell), (am, ah, km, kh) in one vector and (an, kn) in a pair, transposed into the
 * lanes after (transposing the coefficients instead would take as many shuffles). Every lane performs the IEEE
 * operations of hh_f and hh_substep in the same order, so a neuron stepped here gets the bits
 * that hh_step_with gives it (csrc/tests/test_core.c: test_hh_step_run_equals_hh_step).
 * Vectors of four doubles go by pointer between these functions (all inlined): by value, GCC
 * notes an ABI change on builds without AVX. */
typedef double hh_v4 __attribute__((vector_size(32)));
typedef long long hh_m4 __attribute__((vector_size(32))); /* a comparison's lanes: -1 or 0 */

/* lanes of a where k is set, of b elsewhere (bits, so exactly the values of a ? : in C) */
#define HH_SEL4(k, a, b) ((hh_v4)(((hh_m4)(a) & (k)) | ((hh_m4)(b) & ~(k))))
/* the set lanes of k as bits 0-3 */
#define HH_BITS4(k) ((int)(((k)[0] & 1) | ((k)[1] & 2) | ((k)[2] & 4) | ((k)[3] & 8)))

typedef struct {
    hh_v4 v, m, h, n; /* lane i: neuron i of the four */
} hh_y4;

/* *dy = hh_f on four neurons; returns the bits of those whose v is in the rate table (the lanes of
 * the others are meaningless: read from cell 0). With `fastest`, hh_f's fastest rate of each. */
HH_INLINE int hh_f4(const hh_consts *c, const hh_y4 *y, const hh_v4 *gep, const hh_v4 *gip,
                    hh_y4 *dy, hh_v4 *fastest)
{
    const hh_v4 v = y->v, m = y->m, h = y->h, n = y->n, ge = *gep, gi = *gip, zero = {0.0},
                cells = {EDS__HH_TAB_CELLS, EDS__HH_TAB_CELLS, EDS__HH_TAB_CELLS,
                         EDS__HH_TAB_CELLS};
    /* eds__hh_rates_tab_v's cell and position in it, lane by lane */
    const hh_v4 x = (v - c->vt - EDS__HH_TAB_U0) * EDS__HH_TAB_PER_MV;
    const hh_m4 in = (x >= zero) & (x < cells);
    const hh_v4 xs = HH_SEL4(in, x, zero);
    /* eds__hh_rates_cell per neuron, its first two pairs as one vector: (am, ah, km, kh) and
     * (an, kn) of neuron i in r4[i] and r2[i], by the same operations on each lane */
    hh_v4 r4[4];
    eds__v2 r2[4];
    for (int i = 0; i < 4; i++) {
        const int ci = (int)xs[i];
        const double si = xs[i] - (double)ci;
        const double(*k)[6] = eds__hh_tab[ci];
        const hh_v4 s4 = {si, si, si, si};
        const eds__v2 s2 = {si, si};
        hh_v4 a, aj;
        memcpy(&a, k[EDS__HH_TAB_DEG], sizeof a);
        eds__v2 b = eds__v2_load(k[EDS__HH_TAB_DEG] + 4);
        for (int j = EDS__HH_TAB_DEG - 1; j >= 0; j--) {
            memcpy(&aj, k[j], sizeof aj);
            a = aj + s4 * a;
            b = eds__v2_load(k[j] + 4) + s2 * b;
        }
        r4[i] = a;
        r2[i] = b;
    }
    hh_v4 q[6]; /* am, ah, km, kh, an, kn over the four neurons: transposed */
    {
        const hh_v4 t0 = __builtin_shufflevector(r4[0], r4[1], 0, 4, 2, 6), /* am0 am1 km0 km1 */
                    t1 = __builtin_shufflevector(r4[0], r4[1], 1, 5, 3, 7), /* ah0 ah1 kh0 kh1 */
                    t2 = __builtin_shufflevector(r4[2], r4[3], 0, 4, 2, 6),
                    t3 = __builtin_shufflevector(r4[2], r4[3], 1, 5, 3, 7);
        q[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
        q[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
        q[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
        q[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
        const hh_v4 ac = __builtin_shufflevector(r2[0], r2[2], 0, 1, 2, 3),
                    bd = __builtin_shufflevector(r2[1], r2[3], 0, 1, 2, 3);
        q[4] = __builtin_shufflevector(ac, bd, 0, 4, 2, 6);
        q[5] = __builtin_shufflevector(ac, bd, 1, 5, 3, 7);
    }
    const hh_v4 n2 = n * n, g_na = c->g_na * m * m * m * h, g_k = c->g_k * n2 * n2;
    const hh_v4 g = c->g_l + g_na + g_k + ge + gi;
    dy->v = (c->i_l + g_na * c->e_na + g_k * c->e_k + ge * c->e_e + gi * c->e_i - g * v) *
            c->inv_cm;
    dy->m = q[0] - q[2] * m;
    dy->h = q[1] - q[3] * h;
    dy->n = q[4] - q[5] * n;
    if (fastest) {
        hh_v4 k = HH_SEL4(q[2] > q[3], q[2], q[3]);
        k = HH_SEL4(k > q[5], k, q[5]);
        const hh_v4 k_v = g * c->inv_cm;
        *fastest = HH_SEL4(k > k_v, k, k_v);
    }
    return HH_BITS4(in);
}

/* *out = y + a k (hh_axpy), four neurons */
HH_INLINE void hh_axpy4(hh_y4 *out, const hh_y4 *y, double a, const hh_y4 *k)
{
    *out = (hh_y4){y->v + a * k->v, y->m + a * k->m, y->h + a * k->h, y->n + a * k->n};
}

/* hh_substep's quiet (Kutta) substep of hs ms on four neurons, d = hh_half_decay(c, hs); returns
 * the bits of those whose v stayed in the rate table at k2 and k3 (for the others hh_f would have
 * taken the closed forms). */
HH_INLINE int hh_substep4(const hh_consts *c, hh_y4 *y, hh_v4 *ge, hh_v4 *gi, const hh_y4 *f0,
                          double hs, const eds__v2 *d)
{
    const double hh = 0.5 * hs;
    const hh_v4 ge_h = *ge * (*d)[0], ge_1 = ge_h * (*d)[0], gi_h = *gi * (*d)[1],
                gi_1 = gi_h * (*d)[1];
    hh_y4 t, k2, k3;
    hh_axpy4(&t, y, hh, f0);
    int ok = hh_f4(c, &t, &ge_h, &gi_h, &k2, NULL);
    t = (hh_y4){2.0 * k2.v - f0->v, 2.0 * k2.m - f0->m, 2.0 * k2.h - f0->h, 2.0 * k2.n - f0->n};
    hh_axpy4(&t, y, hs, &t);
    ok &= hh_f4(c, &t, &ge_1, &gi_1, &k3, NULL);
    t = (hh_y4){f0->v + 4.0 * k2.v + k3.v, f0->m + 4.0 * k2.m + k3.m, f0->h + 4.0 * k2.h + k3.h,
                f0->n + 4.0 * k2.n + k3.n};
    hh_axpy4(y, y, hs / 6.0, &t);
    *ge = ge_1;
    *gi = gi_1;
    return ok;
}

/* Steps n consecutive neurons by h ms each, in order, until one fires: returns how many were
 * stepped (with *spiked = 1 if the last one fired). The constants of the step are computed once.
 * Neurons go by four: all take the quiet step together (it only reads their states); then, in
 * order, each is stored if its step was quiet (hh_quiet_step's test), in the table and without a
 * crossing, and otherwise takes hh_step_with's path: hh_step_from from its own f0 (the quiet test
 * failed, or it crossed v_thresh), or hh_step_with itself where the table did not cover it (the
 * closed forms). A neuron that fires ends the call before the ones after it are stored. */
/* hh_step_run's contract, one neuron after the other, with c and d = hh_half_decay(c, h) given. */
HH_INLINE uint32_t hh_one_by_one(const double *p, const hh_consts *c, eds__v2 d, double *x,
                                 uint32_t n, double h, int *spiked, double *offset)
{
    for (uint32_t j = 0; j < n; j++, x += HH_N_STATE) {
        hh_step_with(p, c, d, x, h, spiked, offset);
        if (*spiked)
            return j + 1;
    }
    return n;
}

HH_INLINE uint32_t hh_step_run_body(const double *p, double *x, uint32_t n, double h,
                                    int *spiked, double *offset)
{
    hh_consts c;
    hh_consts_of(p, &c);
    const eds__v2 d = hh_half_decay(&c, h);
    const double theta = p[HH_V_THRESH];
    const hh_v4 hv = {h, h, h, h}, stiff = {HH_STIFF * (1.0 - 0x1p-50), HH_STIFF * (1.0 - 0x1p-50),
                                            HH_STIFF * (1.0 - 0x1p-50), HH_STIFF * (1.0 - 0x1p-50)},
                quiet_dv = {HH_QUIET, HH_QUIET, HH_QUIET, HH_QUIET},
                th = {theta, theta, theta, theta};
    const hh_m4 no_sign = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4, x += 4 * HH_N_STATE) {
        double *const a = x, *const b = x + HH_N_STATE, *const e = x + 2 * HH_N_STATE,
                      *const f = x + 3 * HH_N_STATE;
        const hh_y4 y0 = {{a[0], b[0], e[0], f[0]}, {a[1], b[1], e[1], f[1]},
                          {a[2], b[2], e[2], f[2]}, {a[3], b[3], e[3], f[3]}};
        const hh_v4 ge0 = {a[4], b[4], e[4], f[4]}, gi0 = {a[5], b[5], e[5], f[5]};
        hh_y4 f0;
        hh_v4 fastest;
        const int ok0 = hh_f4(&c, &y0, &ge0, &gi0, &f0, &fastest);
        const hh_v4 adv = (hh_v4)((hh_m4)f0.v & no_sign); /* fabs */
        const int quiet = ok0 & HH_BITS4((fastest * hv <= stiff) & (adv * hv <= quiet_dv));
        hh_y4 y = y0;
        hh_v4 ge = ge0, gi = gi0;
        int ok1 = 0;
        if (quiet)
            ok1 = hh_substep4(&c, &y, &ge, &gi, &f0, h, &d);
        const int clean = quiet & ok1 & ~HH_BITS4((y0.v < th) & (y.v >= th));
        for (int i = 0; i < 4; i++) {
            double *xi = x + i * HH_N_STATE;
            if (clean >> i & 1) {
                xi[0] = y.v[i];
                xi[1] = y.m[i];
                xi[2] = y.h[i];
                xi[3] = y.n[i];
                xi[4] = ge[i];
                xi[5] = gi[i];
                xi[6] = xi[6] > h ? xi[6] - h : 0.0;
                continue;
            }
            if ((ok0 >> i & 1) && (!(quiet >> i & 1) || (ok1 >> i & 1))) /* on from its f0 */
                hh_step_from(p, &c, d, xi, h,
                             (hh_y){v2(f0.m[i], f0.h[i]), v2(f0.v[i], f0.n[i])}, fastest[i],
                             spiked, offset);
            else /* beyond the table somewhere in the quiet step */
                hh_step_with(p, &c, d, xi, h, spiked, offset);
            if (*spiked)
                return j + (uint32_t)i + 1;
        }
    }
    /* the last one to three of the run one by one (four lanes with some of them idle cost more
     * instructions, 1.018e9 against 0.995e9 per 50 ms of B3, for no gain in time) */
    return j + hh_one_by_one(p, &c, d, x, n - j, h, spiked, offset);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(EDS_NO_AVX2)
/* The same compiled for AVX2 (a four-double vector in one register; no FMA, which target("avx2")
 * does not enable and -std=c11's -ffp-contract=off would not use): chosen at run time. (hh_step
 * and hh_step_from compiled so too: 7% fewer instructions for B3, no faster; one neuron's chain
 * of evaluations is bound by latency, not by instructions. Two groups of four side by side,
 * stage by stage: more spills, no faster.) */
__attribute__((target("avx2"))) static uint32_t hh_step_run_avx2(const double *p, double *x,
                                                                 uint32_t n, double h,
                                                                 int *spiked, double *offset)
{
    return hh_step_run_body(p, x, n, h, spiked, offset);
}
#define HH_HAVE_AVX2_CLONE 1
#endif

/* One neuron after the other: where four-double vectors are not native, the four-lane kernel is
 * slower than this (RTF of B3 4.1 against 2.85 on SSE2 alone). */
static uint32_t hh_step_run_one_by_one(const double *p, double *x, uint32_t n, double h,
                                       int *spiked, double *offset)
{
    hh_consts c;
    hh_consts_of(p, &c);
    return hh_one_by_one(p, &c, hh_half_decay(&c, h), x, n, h, spiked, offset);
}

static uint32_t hh_step_run(const double *p, double *x, uint32_t n, double h, int *spiked,
                            double *offset)
{
#ifdef HH_HAVE_AVX2_CLONE
    if (__builtin_cpu_supports("avx2"))
        return hh_step_run_avx2(p, x, n, h, spiked, offset);
#endif
    return hh_step_run_one_by_one(p, x, n, h, spiked, offset);
}

static void cond_input(double *ge, double *gi, double tau_e, double tau_i, int receptor, double w,
                       double late)
{
    if (late != 0.0) /* (sim.c applies every input on time: late = 0, no decay) */
        w *= exp(-late / (receptor ? tau_i : tau_e));
    if (receptor)
        *gi += w;
    else
        *ge += w;
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

static const eds__clock_ops hh_cond = {"HH_cond_exp", HH_N_PARAMS, HH_N_STATE, hh_check, hh_init,
                                       hh_step, hh_input, hh_project, hh_step_run};

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
                                          izh_step, izh_input, izh_project, NULL};

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
                                         adex_init, adex_step, adex_input, adex_project, NULL};

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
                                   fhn_input, fhn_project, NULL};

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
                                              hr_step, hr_input, hr_project, NULL};

/* ---- registry ---- */

static const eds__clock_ops *const models[EDS_N_CLOCK_MODELS] = {
    [EDS_CLOCK_LIF_COND] = &lif_cond,
    [EDS_CLOCK_HH_COND] = &hh_cond,
    [EDS_CLOCK_IZHIKEVICH] = &izhikevich,
    [EDS_CLOCK_ADEX_COND] = &adex_cond,
    [EDS_CLOCK_FHN] = &fhn,
    [EDS_CLOCK_HR] = &hindmarsh_rose,
    [EDS_CLOCK_LIF_CURR] = &lif_curr,
    [EDS_CLOCK_LIF_DELTA] = &lif_delta,
};

const eds__clock_ops *eds__clock_model(int model)
{
    return (model >= 0 && model < EDS_N_CLOCK_MODELS) ? models[model] : NULL;
}
