/* Numerics shared by the table engines; see numerics.h. */
#include <math.h>

#include "numerics.h"

int eds__axis_init(eds__axis *a, int32_t e0, int32_t m, int32_t n, int32_t n_min)
{
    if (m < 0 || m > 20 || e0 < -1000 || e0 > 1000 || n < n_min || n > (1 << 24))
        return EDS_TABLE;
    a->e0 = e0;
    a->m = m;
    a->n = n;
    a->x0 = ldexp(1.0, e0);
    uint64_t b;
    memcpy(&b, &a->x0, sizeof b);
    a->base = b >> (52 - m);
    /* every node's bit pattern must stay below that of +infinity */
    if ((uint64_t)(n - 1) + a->base >= ((uint64_t)0x7FF << m))
        return EDS_TABLE;
    a->x_max = eds__node_y(a, (uint64_t)(n - 1)) - a->x0;
    return isfinite(a->x_max) && a->x_max > 0.0 ? EDS_OK : EDS_TABLE;
}

double eds__cubic_first_root(double c0, double c1, double c2, double c3)
{
    /* critical points split [0, 1] into monotone pieces; the first piece that ends at or above
     * zero holds the first root, found by safeguarded Newton */
    double ends[3], crit[2];
    int n_ends = 0, n_crit = 0;
    double qa = 3 * c3, qb = 2 * c2, qc = c1;
    if (fabs(qa) > 1e-300) {
        double disc = qb * qb - 4 * qa * qc;
        if (disc >= 0) {
            double sq = sqrt(disc);
            double q = -0.5 * (qb + (qb >= 0 ? sq : -sq));
            double r1 = q / qa, r2 = q != 0 ? qc / q : r1;
            crit[n_crit++] = r1 < r2 ? r1 : r2;
            crit[n_crit++] = r1 < r2 ? r2 : r1;
        }
    } else if (fabs(qb) > 1e-300) {
        crit[n_crit++] = -qc / qb;
    }
    for (int i = 0; i < n_crit; i++)
        if (crit[i] > 0.0 && crit[i] < 1.0)
            ends[n_ends++] = crit[i];
    ends[n_ends++] = 1.0;
    double lo = 0.0;
    for (int i = 0; i < n_ends; i++) {
        double hi = ends[i];
        if (((c3 * hi + c2) * hi + c1) * hi + c0 >= 0.0) {
            double a = lo, b = hi, s = hi;
            for (int it = 0; it < 100; it++) {
                double f = ((c3 * s + c2) * s + c1) * s + c0;
                if (f >= 0.0)
                    b = s;
                else
                    a = s;
                if (b - a <= 4e-16 * b)
                    break;
                double df = (3 * c3 * s + 2 * c2) * s + c1;
                double next = df > 0 ? s - f / df : 0.5 * (a + b);
                if (!(next > a && next < b))
                    next = 0.5 * (a + b);
                s = next;
            }
            return b;
        }
        lo = hi;
    }
    return -1.0;
}
