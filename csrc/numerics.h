/* Numerics shared by the table engines (lut_cond.c, lut_gen.c): float-exponent axes, the cubic
 * Hermite interpolant and the first root of a cubic. One definition, so both engines agree with
 * edsim/tables/axis.py to the last bit. (The inline exp is in fastexp.h.) */
#ifndef EDSIM_NUMERICS_H
#define EDSIM_NUMERICS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fastexp.h"
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

/* Smallest s in [0, 1] where c0 + c1 s + c2 s^2 + c3 s^3 (c0 < 0) reaches 0, or -1. */
double eds__cubic_first_root(double c0, double c1, double c2, double c3);

#endif
