/* The Traub-Miles rates of HH_cond_exp (clock.c) from a table of piecewise cubics in
 * u = v - v_offset over 0.5 mV cells (hh_rates_table.h, written by hh_rates_gen.py from the
 * closed forms): ~40 instructions and no division, where the closed forms take one exp and four
 * divisions (~110), and within 7e-8 (relative) of them, so that spike times move by ~1e-8 ms, far
 * below the integrator's error. */
#ifndef EDSIM_HH_RATES_H
#define EDSIM_HH_RATES_H

#include <string.h>

#include "hh_rates_table.h"

/* Two doubles side by side (GCC and Clang vector extension; plain IEEE operations on each
 * lane, so results are those of the scalar code). */
typedef double eds__v2 __attribute__((vector_size(16)));

static inline eds__v2 eds__v2_load(const double *p)
{
    eds__v2 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* (r[0], r[1], r[2]) = ((alpha_m, alpha_h), (alpha_m + beta_m, alpha_h + beta_h),
 * (alpha_n, alpha_n + beta_n)) at s in [0, 1) of table cell c. */
static inline __attribute__((always_inline)) void eds__hh_rates_cell(int c, double s,
                                                                     eds__v2 r[3])
{
    const double(*k)[6] = eds__hh_tab[c];
    /* Horner in s, the six rates in three pairs */
    const eds__v2 sv = {s, s};
    eds__v2 a0 = eds__v2_load(k[EDS__HH_TAB_DEG]), a1 = eds__v2_load(k[EDS__HH_TAB_DEG] + 2),
            a2 = eds__v2_load(k[EDS__HH_TAB_DEG] + 4);
    for (int j = EDS__HH_TAB_DEG - 1; j >= 0; j--) {
        a0 = eds__v2_load(k[j]) + sv * a0;
        a1 = eds__v2_load(k[j] + 2) + sv * a1;
        a2 = eds__v2_load(k[j] + 4) + sv * a2;
    }
    r[0] = a0;
    r[1] = a1;
    r[2] = a2;
}

/* The rates above at u (mV) and 1, or 0 with r untouched where u is outside the table (or NaN):
 * cell c = (int)x and s = x - c at x = (u - EDS__HH_TAB_U0) EDS__HH_TAB_PER_MV. */
static inline int eds__hh_rates_tab_v(double u, eds__v2 r[3])
{
    double x = (u - EDS__HH_TAB_U0) * EDS__HH_TAB_PER_MV;
    if (!(x >= 0.0 && x < (double)EDS__HH_TAB_CELLS))
        return 0;
    int c = (int)x;
    eds__hh_rates_cell(c, x - (double)c, r);
    return 1;
}

/* The same as six doubles: alpha_m, alpha_h, alpha_m + beta_m, alpha_h + beta_h, alpha_n,
 * alpha_n + beta_n. */
static inline int eds__hh_rates_tab(double u, double r[6])
{
    eds__v2 v[3];
    if (!eds__hh_rates_tab_v(u, v))
        return 0;
    memcpy(r, v, sizeof v);
    return 1;
}

#endif
