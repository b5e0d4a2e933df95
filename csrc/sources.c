/* Spike sources: explicit spike times and Poisson processes.
 *
 * A population of n independent Poisson sources of rate r is generated as their superposition:
 * one Poisson process of rate n r whose every spike goes to a source drawn uniformly. That is the
 * same process in law (Cinlar's superposition theorem) and keeps one event in the queue per
 * population instead of one per source, which matters when every neuron has its own drive
 * (Brunel's network: 12,500 sources at 20 kHz). Random numbers come from Philox4x64-10 (Salmon et
 * al. 2011, the Random123 generator also behind numpy.random.Philox), keyed by (seed, first id of
 * the population) and counted by draws: per spike the interval -ln(u) / (n r) from draw k, then,
 * if n > 1, the source from draw k + 1 as floor(bits * n / 2^64). A population's spikes therefore
 * depend only on the seed, its first id, its size, rate and window, never on the rest of the
 * network or on how runs are split; a single source's train is -ln(u_k) / r, u_k from its own
 * stream.
 */
#include <math.h>

#include "internal.h"

static inline uint64_t mulhilo(uint64_t a, uint64_t b, uint64_t *hi)
{
    __uint128_t p = (__uint128_t)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}

void eds_philox4x64(const uint64_t ctr[4], const uint64_t key[2], uint64_t out[4])
{
    uint64_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t hi0, hi1;
        uint64_t lo0 = mulhilo(0xD2E7470EE14C6C93ULL, c0, &hi0);
        uint64_t lo1 = mulhilo(0xCA5A826395121157ULL, c2, &hi1);
        uint64_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B97F4A7C15ULL;
        k1 += 0xBB67AE8584CAA73BULL;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

int eds__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint64_t eds__philox_draw(uint64_t seed, uint32_t id, uint64_t k, uint64_t block[4],
                          uint64_t *block_k)
{
    if (*block_k != (k >> 2) + 1) {
        uint64_t ctr[4] = {k >> 2, 0, 0, 0}, key[2] = {seed, id};
        eds_philox4x64(ctr, key, block);
        *block_k = (k >> 2) + 1;
    }
    return block[k & 3];
}

static uint64_t draw(uint64_t seed, eds__pop *p, uint64_t k)
{
    return eds__philox_draw(seed, p->first, k, p->block, &p->block_k);
}

int eds__poisson_next(eds_sim *sim, eds__pop *p, double after, double *t_next, uint32_t *local)
{
    if (p->rate <= 0.0 || p->n == 0) {
        *t_next = INFINITY;
        *local = 0;
        return EDS_OK;
    }
    double u = eds__uniform(draw(sim->seed, p, p->draws++));
    *t_next = after - log(u) * (1000.0 / (p->rate * (double)p->n));
    *local = p->n > 1 ? (uint32_t)(((__uint128_t)draw(sim->seed, p, p->draws++) * p->n) >> 64) : 0;
    return EDS_OK;
}

int eds__spikes_schedule(eds_sim *sim, eds__pop *p, uint32_t local)
{
    if (p->cursor[local] >= p->n_times[local])
        return EDS_OK;
    double t = p->times[local][p->cursor[local]];
    return eds__queue_push(&sim->queue, t, EDS_EV_EMIT, p->first + local, p->gen[local], 0.0);
}

int eds_sim_add_spike_times(eds_sim *sim, uint32_t id, const double *times, size_t n)
{
    if (!sim || (!times && n))
        return EDS_NULLPTR;
    if (id >= sim->n_ids)
        return EDS_RANGE;
    eds__pop *p = &sim->pops[sim->pop_of[id]];
    if (p->kind != EDS__POP_SPIKES)
        return EDS_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(times[i]))
            return EDS_INVALID;
        if (times[i] < sim->now)
            return EDS_CAUSALITY;
    }
    uint32_t j = id - p->first;
    uint64_t have = p->n_times[j];
    if (n > UINT64_MAX - have)
        return EDS_OVERFLOW;
    EDS_CHECK(eds__grow((void **)&p->times[j], &p->cap_times[j], have + n, sizeof(double)));
    if (n)
        memcpy(p->times[j] + have, times, n * sizeof(double));
    p->n_times[j] = have + n;
    if (p->n_times[j] > p->cursor[j])
        qsort(p->times[j] + p->cursor[j], (size_t)(p->n_times[j] - p->cursor[j]), sizeof(double),
              eds__cmp_double);
    p->gen[j]++; /* the pending EMIT, if any, may no longer be the earliest */
    return eds__spikes_schedule(sim, p, j);
}
