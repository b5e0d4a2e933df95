/* Static synapses: staged as edge lists while the network is built, frozen into a compact CSR at
 * the first run.
 *
 * Frozen layout (8 bytes per synapse plus 16 per delay group): for each source id its delay
 * groups, in increasing delay; for each group its synapses, in increasing target id, each a
 * uint32 (target | receptor << 30) and a float weight. One spike makes one queue event per delay
 * group, which delivers the whole group and then schedules the next group of the same source.
 * Equal (delay, target) pairs keep the order in which they were added.
 */
#include <math.h>

#include "internal.h"

int eds_sim_add_synapses(eds_sim *sim, size_t n, const uint32_t *pre, const uint32_t *post,
                         const float *weight, const double *delay, const uint8_t *receptor)
{
    if (!sim)
        return EDS_NULLPTR;
    if (n && (!pre || !post || !weight || !delay || !receptor))
        return EDS_NULLPTR;
    if (sim->started)
        return EDS_STATE;
    for (size_t i = 0; i < n; i++) {
        if (pre[i] >= sim->n_ids || post[i] >= sim->n_ids)
            return EDS_RANGE;
        int kind = sim->pops[sim->pop_of[post[i]]].kind;
        if ((!EDS__EVENT_DRIVEN(kind) && kind != EDS__POP_CLOCK) || receptor[i] > 1)
            return EDS_INVALID;
        if (!isfinite(weight[i]) || !(delay[i] > 0.0) || !isfinite(delay[i]))
            return EDS_INVALID;
        if (kind == EDS__POP_COND && !(weight[i] >= 0.0f))
            return EDS_INVALID;
        const eds__pop *src = &sim->pops[sim->pop_of[pre[i]]];
        if (src->kind == EDS__POP_CLOCK && !(delay[i] >= src->dt))
            return EDS_INVALID; /* its spikes are found at the end of a step */
    }
    uint64_t need = sim->n_staged + n;
    if (need < sim->n_staged)
        return EDS_OVERFLOW;
    uint64_t c1 = sim->cap_staged, c2 = c1, c3 = c1, c4 = c1, c5 = c1;
    EDS_CHECK(eds__grow((void **)&sim->s_pre, &c1, need, sizeof(uint32_t)));
    EDS_CHECK(eds__grow((void **)&sim->s_post, &c2, need, sizeof(uint32_t)));
    EDS_CHECK(eds__grow((void **)&sim->s_w, &c3, need, sizeof(float)));
    EDS_CHECK(eds__grow((void **)&sim->s_d, &c4, need, sizeof(double)));
    EDS_CHECK(eds__grow((void **)&sim->s_rec, &c5, need, sizeof(uint8_t)));
    sim->cap_staged = c1;
    uint64_t at = sim->n_staged;
    if (n) {
        memcpy(sim->s_pre + at, pre, n * sizeof(uint32_t));
        memcpy(sim->s_post + at, post, n * sizeof(uint32_t));
        memcpy(sim->s_w + at, weight, n * sizeof(float));
        memcpy(sim->s_d + at, delay, n * sizeof(double));
        memcpy(sim->s_rec + at, receptor, n);
    }
    sim->n_staged = need;
    return EDS_OK;
}

typedef struct {
    double delay;
    uint32_t target;    /* with receptor bits */
    float weight;
    uint64_t order;     /* staging index: ties keep insertion order */
} syn_sort;

static int cmp_syn(const void *a, const void *b)
{
    const syn_sort *x = a, *y = b;
    if (x->delay != y->delay)
        return x->delay < y->delay ? -1 : 1;
    uint32_t tx = x->target & EDS__TARGET_MASK, ty = y->target & EDS__TARGET_MASK;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static void free_staged(eds_sim *sim)
{
    free(sim->s_pre);
    free(sim->s_post);
    free(sim->s_w);
    free(sim->s_d);
    free(sim->s_rec);
    sim->s_pre = sim->s_post = NULL;
    sim->s_w = NULL;
    sim->s_d = NULL;
    sim->s_rec = NULL;
    sim->n_staged = sim->cap_staged = 0;
}

/* One delay line per distinct delay value, when there are at most EDS__MAX_FIFOS of them. */
static int make_delay_lines(eds_sim *sim)
{
    uint64_t n = sim->n_groups;
    if (n == 0)
        return EDS_OK;
    for (uint32_t id = 0; id < sim->n_ids; id++)
        if (sim->grp_of[id + 1] - sim->grp_of[id] >= EDS__FIFO_FLAG)
            return EDS_OVERFLOW; /* a DELIVER's aux holds the group index below the flag bit */
    double *d = malloc(n * sizeof(double));
    if (!d)
        return EDS_NOMEM;
    memcpy(d, sim->grp_delay, n * sizeof(double));
    qsort(d, (size_t)n, sizeof(double), eds__cmp_double);
    uint64_t u = 0;
    for (uint64_t g = 0; g < n; g++)
        if (u == 0 || d[g] != d[u - 1])
            d[u++] = d[g];
    if (u > EDS__MAX_FIFOS) {
        free(d);
        return EDS_OK;
    }
    sim->grp_fifo = malloc(n * sizeof(uint32_t));
    sim->fifos = calloc(u, sizeof(eds__fifo));
    if (!sim->grp_fifo || !sim->fifos) {
        free(d);
        return EDS_NOMEM;
    }
    sim->n_fifos = (uint32_t)u;
    for (uint64_t g = 0; g < n; g++) {
        uint64_t lo = 0, hi = u; /* d[lo] <= delay < d[hi] */
        while (hi - lo > 1) {
            uint64_t mid = (lo + hi) / 2;
            if (d[mid] <= sim->grp_delay[g])
                lo = mid;
            else
                hi = mid;
        }
        sim->grp_fifo[g] = (uint32_t)lo;
    }
    free(d);
    return EDS_OK;
}

int eds__synapses_freeze(eds_sim *sim)
{
    uint64_t n = sim->n_staged, n_ids = sim->n_ids;
    int rc = EDS_OK;
    uint64_t *start = calloc(n_ids + 1, sizeof(uint64_t)); /* counting sort by source */
    uint64_t *idx = malloc((n ? n : 1) * sizeof(uint64_t));
    sim->grp_of = calloc(n_ids + 1, sizeof(uint64_t));
    sim->syn_target = malloc((n ? n : 1) * sizeof(uint32_t));
    sim->syn_weight = malloc((n ? n : 1) * sizeof(float));
    syn_sort *scratch = NULL;
    uint64_t cap_scratch = 0, cap_groups = 0, cap_gs = 0;
    /* CSR position of each staged synapse, when some are tracked (control.c) */
    uint64_t *pos = NULL;
    if (eds__control_wants_positions(sim) && !(pos = malloc((n ? n : 1) * sizeof(uint64_t)))) {
        rc = EDS_NOMEM;
        goto done;
    }
    if (!start || !idx || !sim->grp_of || !sim->syn_target || !sim->syn_weight) {
        rc = EDS_NOMEM;
        goto done;
    }
    for (uint64_t i = 0; i < n; i++)
        start[sim->s_pre[i] + 1]++;
    for (uint64_t id = 0; id < n_ids; id++)
        start[id + 1] += start[id];
    {
        uint64_t *fill = malloc((n_ids + 1) * sizeof(uint64_t));
        if (!fill) {
            rc = EDS_NOMEM;
            goto done;
        }
        memcpy(fill, start, (n_ids + 1) * sizeof(uint64_t));
        for (uint64_t i = 0; i < n; i++)
            idx[fill[sim->s_pre[i]]++] = i;
        free(fill);
    }
    sim->n_groups = 0;
    for (uint64_t id = 0; id < n_ids; id++) {
        uint64_t lo = start[id], hi = start[id + 1], m = hi - lo;
        sim->grp_of[id] = sim->n_groups;
        if (m == 0)
            continue;
        rc = eds__grow((void **)&scratch, &cap_scratch, m, sizeof(syn_sort));
        if (rc != EDS_OK)
            goto done;
        for (uint64_t j = 0; j < m; j++) {
            uint64_t s = idx[lo + j];
            scratch[j].delay = sim->s_d[s];
            scratch[j].target = sim->s_post[s] | ((uint32_t)sim->s_rec[s] << EDS__RECEPTOR_SHIFT);
            scratch[j].weight = sim->s_w[s];
            scratch[j].order = s;
        }
        qsort(scratch, (size_t)m, sizeof(syn_sort), cmp_syn);
        for (uint64_t j = 0; j < m; j++) {
            sim->syn_target[lo + j] = scratch[j].target;
            sim->syn_weight[lo + j] = scratch[j].weight;
            if (pos)
                pos[scratch[j].order] = lo + j;
            if (j == 0 || scratch[j].delay != scratch[j - 1].delay) {
                uint64_t g = sim->n_groups;
                rc = eds__grow((void **)&sim->grp_delay, &cap_groups, g + 1, sizeof(double));
                if (rc == EDS_OK)
                    rc = eds__grow((void **)&sim->grp_start, &cap_gs, g + 2, sizeof(uint64_t));
                if (rc != EDS_OK)
                    goto done;
                sim->grp_delay[g] = scratch[j].delay;
                sim->grp_start[g] = lo + j;
                sim->n_groups = g + 1;
            }
        }
    }
    sim->grp_of[n_ids] = sim->n_groups;
    rc = eds__grow((void **)&sim->grp_start, &cap_gs, sim->n_groups + 1, sizeof(uint64_t));
    if (rc != EDS_OK)
        goto done;
    sim->grp_start[sim->n_groups] = n;
    rc = make_delay_lines(sim);
    if (rc != EDS_OK)
        goto done;
    sim->n_syn = n;
    sim->stats.n_synapses = n;
    sim->stats.n_delay_groups = sim->n_groups;
    sim->stats.bytes_synapses = n * (sizeof(uint32_t) + sizeof(float)) +
                                sim->n_groups * (sizeof(double) + sizeof(uint64_t)) +
                                (n_ids + 1) * sizeof(uint64_t) +
                                (sim->grp_fifo ? sim->n_groups * sizeof(uint32_t) : 0);
    if (pos && (rc = eds__control_frozen(sim, pos)) != EDS_OK)
        goto done;
    free_staged(sim);
done:
    free(pos);
    free(start);
    free(idx);
    free(scratch);
    return rc;
}

void eds__synapses_free(eds_sim *sim)
{
    for (uint32_t f = 0; f < sim->n_fifos; f++)
        free(sim->fifos[f].ev);
    free(sim->fifos);
    free(sim->grp_fifo);
    sim->fifos = NULL;
    sim->grp_fifo = NULL;
    sim->n_fifos = 0;
    free_staged(sim);
    free(sim->grp_of);
    free(sim->grp_delay);
    free(sim->grp_start);
    free(sim->syn_target);
    free(sim->syn_weight);
}
