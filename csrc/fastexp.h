/* e^x without a libm call, for the models in closed form and the HH rates: no dependencies, so
 * that internal.h can use it too. */
#ifndef EDSIM_FASTEXP_H
#define EDSIM_FASTEXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^{j/32}, j = 0 .. 31 (eds__exp_core; lut_cond.c's two-lane version) */
static const double eds__exp2_j32[32] = {
    0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
    0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
    0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
    0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
    0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
    0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
    0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
    0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
};

/* e^x without a libm call (the HH rates of clock.c, IF_curr_exp in exact.c, IF_curr_delta's decay):
 * x = (32 k + j) ln2 / 32 + r with |r| <= ln2 / 64; e^x = 2^k 2^{j/32} e^r, e^r - 1 by its
 * degree-6 Taylor polynomial (truncation < 4e-18 relative). Within 1 ulp of glibc's exp over
 * |x| <= 700 (2e7 random arguments; test_inline_exp_is_within_an_ulp). IEEE operations only:
 * reproducible. Unchecked: |x| <= 700. The reduction and the polynomial are macros, so that
 * lut_cond.c's two-lane version (vector operands) performs the very same operations. */
#define EDS__EXP_SHIFT 0x1.8p52 /* adding it rounds to an integer (|x 32 / ln2| < 2^51) */
/* kf = 32 k + j, the nearest integer to x 32 / ln2 */
#define EDS__EXP_KF(x) (((x) * 0x1.71547652b82fep+5 + EDS__EXP_SHIFT) - EDS__EXP_SHIFT)
/* r = x - kf ln2 / 32 (Cody-Waite: ln2/32 = hi + lo, hi with 32 significant bits, so kf hi is
 * exact) */
#define EDS__EXP_R(x, kf) (((x) - (kf) * 0x1.62e42fee00000p-6) - (kf) * 0x1.a39ef35793c76p-38)
/* e^r - 1 */
#define EDS__EXP_POLY(r)                                                                           \
    ((r) * (1.0 + (r) * (0.5 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + (r) * (1.0 / 120 +              \
                                                                          (r) * (1.0 / 720)))))))

/* 2^k for kf = 32 k + j (|k| <= 1010), with *t = 2^{j/32} */
static inline double eds__exp_scale(double kf, double *t)
{
    const uint64_t n = (uint64_t)((int64_t)kf + 32768); /* 32 k + j + 32768 >= 0, 0 <= j < 32 */
    const uint64_t scale_bits = ((n >> 5) - 1024 + 1023) << 52;
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    *t = eds__exp2_j32[n & 31];
    return scale;
}

static inline double eds__exp_core(double x)
{
    const double kf = EDS__EXP_KF(x), r = EDS__EXP_R(x, kf), q = EDS__EXP_POLY(r);
    double t;
    const double scale = eds__exp_scale(kf, &t);
    return (t + t * q) * scale;
}

/* e^x, libm's beyond |x| = 700 */
static inline double eds__exp(double x)
{
    return fabs(x) <= 700.0 ? eds__exp_core(x) : exp(x);
}

#endif
