/* Numerics shared by the table engines (lut_cond.c, lut_gen.c): float-exponent axes, the cubic
 * Hermite interpolant and the first root of a cubic. One definition, so both engines agree with
 * edsim/tables/axis.py to the last bit. Also an inline exp for the models in closed form. */
#ifndef EDSIM_NUMERICS_H
#define EDSIM_NUMERICS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Float-exponent axis (definition in edsim/tables/axis.py): with y = x + 2^e0, nodes are the
 * doubles whose mantissa has only its top m bits set. EDS_TABLE unless n_min <= n <= 2^24, every
 * node is finite and the axis spans more than 0. */
int eds__axis_init(eds__axis *a, int32_t e0, int32_t m, int32_t n, int32_t n_min);

/* y-value (x + 2^e0) of node k. */
static inline double eds__node_y(const eds__axis *a, uint64_t k)
{
    uint64_t b = (k + a->base) << (52 - a->m);
    double y;
    memcpy(&y, &b, sizeof y);
    return y;
}

/* Cell index of x in [0, x_max] (the last cell includes x_max); *y = x + x0. 0 if out of range. */
static inline int eds__locate(const eds__axis *a, double x, uint32_t *k, double *y)
{
    if (!(x >= 0.0 && x <= a->x_max))
        return 0;
    double yy = x + a->x0;
    uint64_t b;
    memcpy(&b, &yy, sizeof b);
    uint64_t kk = (b >> (52 - a->m)) - a->base;
    if (kk > (uint64_t)a->n - 2)
        kk = (uint64_t)a->n - 2;
    *k = (uint32_t)kk;
    *y = yy;
    return 1;
}

/* Whether the reach bound alone proves that IF_cond_exp start (v, ge, gi) never reaches threshold
 * without input: below it by more than the largest corner reach of its (ge, gi) table cell, plus
 * the margin (lut->reject). eds__cond_predict's first test, and the run loop's shortcut past it.
 * A NaN never passes. */
static inline int eds__cond_rejects(const eds_cond_lut *l, double v, double ge, double gi)
{
    uint32_t ke, ki;
    double ye, yi, d0 = l->tab.v_thresh - v;
    return d0 > 0.0 && eds__locate(&l->ge, ge, &ke, &ye) && eds__locate(&l->gi, gi, &ki, &yi) &&
           d0 > l->reject[(uint64_t)ke * (uint64_t)(l->tab.gi_n - 1) + ki];
}

/* Cubic Hermite interpolant at s in [0, 1] of values v0, v1 and slopes d0, d1 over a width h. */
static inline double eds__hermite(double v0, double d0, double v1, double d1, double h, double s)
{
    double s2 = s * s, s3 = s2 * s;
    return (2 * s3 - 3 * s2 + 1) * v0 + (s3 - 2 * s2 + s) * h * d0 + (-2 * s3 + 3 * s2) * v1 +
           (s3 - s2) * h * d1;
}

/* e^x without a libm call (the HH rates of clock.c, IF_curr_exp in exact.c):
 * x = (32 k + j) ln2 / 32 + r with |r| <= ln2 / 64; e^x = 2^k 2^{j/32} e^r, e^r - 1 by its
 * degree-6 Taylor polynomial (truncation < 4e-18 relative). Within 1 ulp of glibc's exp over
 * |x| <= 700 (2e7 random arguments; test_inline_exp_is_within_an_ulp). IEEE operations only:
 * reproducible. Unchecked: |x| <= 700. */
static inline double eds__exp_core(double x)
{
    static const double exp2_j32[32] = {
        0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
        0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
        0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
        0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
        0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
        0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
        0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
        0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
    };
    const double shift = 0x1.8p52; /* adding it rounds to an integer (|x 32 / ln2| < 2^51) */
    double kf = (x * 0x1.71547652b82fep+5 + shift) - shift;
    /* Cody-Waite: ln2/32 = hi + lo, hi with 32 significant bits, so kf * hi is exact */
    double r = (x - kf * 0x1.62e42fee00000p-6) - kf * 0x1.a39ef35793c76p-38;
    double q = r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
                                                                         r * (1.0 / 720))))));
    uint64_t n = (uint64_t)((int64_t)kf + 32768); /* 32 k + j + 32768 >= 0, 0 <= j < 32 */
    uint64_t scale_bits = ((n >> 5) - 1024 + 1023) << 52; /* 2^k, |k| <= 1010 */
    double scale, t = exp2_j32[n & 31];
    memcpy(&scale, &scale_bits, sizeof scale);
    return (t + t * q) * scale;
}

/* e^x, libm's beyond |x| = 700 */
static inline double eds__exp(double x)
{
    return fabs(x) <= 700.0 ? eds__exp_core(x) : exp(x);
}

/* Smallest s in [0, 1] where c0 + c1 s + c2 s^2 + c3 s^3 (c0 < 0) reaches 0, or -1. */
double eds__cubic_first_root(double c0, double c1, double c2, double c3);

#endif
