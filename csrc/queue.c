/* Event queue: a binary min-heap of eds__event ordered by (t, key), where key = rank << 56 | seq.
 *
 * Invariant: every parent is <= both children in that order. Because seq is unique and grows with
 * every push, no two events compare equal: the order is total and runs are reproducible bit for
 * bit. The queue does not check causality; the run loop does before pushing.
 */
#include "internal.h"

#define SEQ_BITS 56

static inline int before(const eds__event *a, const eds__event *b)
{
    return a->t < b->t || (a->t == b->t && a->key < b->key);
}

int eds__queue_push(eds__queue *q, double t, int kind, uint32_t id, uint32_t aux, double aux_t)
{
    if (q->seq >= ((uint64_t)1 << SEQ_BITS))
        return EDS_OVERFLOW;
    eds__event e = {t, ((uint64_t)kind << SEQ_BITS) | q->seq++, id, aux, aux_t};
    return eds__queue_insert(q, &e);
}

int eds__queue_insert(eds__queue *q, const eds__event *ev)
{
    if (q->size == q->cap)
        EDS_CHECK(eds__grow((void **)&q->ev, &q->cap, q->size + 1, sizeof(eds__event)));
    const eds__event e = *ev;
    uint64_t i = q->size++;
    while (i > 0) {
        uint64_t parent = (i - 1) / 2;
        if (!before(&e, &q->ev[parent]))
            break;
        q->ev[i] = q->ev[parent];
        i = parent;
    }
    q->ev[i] = e;
    if (q->size > q->max_size)
        q->max_size = q->size;
    return EDS_OK;
}

void eds__queue_pop(eds__queue *q, eds__event *out)
{
    *out = q->ev[0];
    eds__event last = q->ev[--q->size];
    uint64_t n = q->size, i = 0;
    for (;;) {
        uint64_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&q->ev[c + 1], &q->ev[c]))
            c++;
        if (!before(&q->ev[c], &last))
            break;
        q->ev[i] = q->ev[c];
        i = c;
    }
    if (n > 0)
        q->ev[i] = last;
}

int eds__fifo_push(eds__fifo *f, const eds__event *e)
{
    if (f->count == f->cap) {
        /* full: grow (at least doubling), then move the ring's wrapped part, ev[0, head), to
         * just after the old end, so that it continues from ev[head] without a wrap */
        uint64_t old = f->cap;
        EDS_CHECK(eds__grow((void **)&f->ev, &f->cap, old + 1, sizeof(eds__event)));
        memcpy(f->ev + old, f->ev, f->head * sizeof(eds__event));
    }
    f->ev[(f->head + f->count) % f->cap] = *e;
    f->count++;
    return EDS_OK;
}

void eds__fifo_pop(eds__fifo *f)
{
    f->head = (f->head + 1) % f->cap;
    f->count--;
}

int eds__queue_check(const eds__queue *q)
{
    for (uint64_t i = 1; i < q->size; i++)
        if (before(&q->ev[i], &q->ev[(i - 1) / 2]))
            return EDS_STATE;
    return EDS_OK;
}

void eds__queue_free(eds__queue *q)
{
    free(q->ev);
    memset(q, 0, sizeof *q);
}

/* ---- the neuron queue: at most one pending event per neuron, re-keyed in place ----
 *
 * An event-driven neuron has at most one valid pending event of its own at any time (its
 * predicted firing, its end of refractoriness, or a re-check of its prediction). Keeping those in
 * one slot per neuron, re-keyed in place, replaces "push a new event, drop the old one when it
 * pops" (which left 96 % stale events in a voltage-jump network). Keys come from the main queue's
 * sequence counter, so the total order (t, rank, seq) spans both queues; keys are unique, so the
 * first pending event is well defined and any structure pops the same sequence.
 *
 * Made for many re-keys and few pops (an IF_curr_exp cell is re-keyed by each input, ~10 times
 * per event it pops): the ids are cut into blocks of EDS__NQ_BLOCK, each with a mask of its
 * pending ids; a tournament tree over the blocks holds copies of their first entries, so its
 * comparisons read contiguous nodes, tree[1] the first of all. A re-key to a later time costs
 * nothing unless the id was its block's first (then the block's pending ids are scanned and the
 * nodes it held recomputed); one to an earlier time climbs only while it wins. A pop scans its
 * block's pending ids and recomputes one tree path. EDS__NQ_BLOCK = 8: on benchmarks 2 and 4
 * (callgrind) as few instructions as 4 and fewer than 16 or 32; the masks keep the scans of
 * sparse blocks (benchmark 4: mostly refractory cells pending) short.
 * Invariant: mask[b] has exactly the pending ids of block b; tree[leaves + b] is a copy of block
 * b's first pending entry (none if it has none, as are the leaves past the last block); an inner
 * node is a copy of the earlier of its children; size counts the pending ids. */

#define NQ_NONE EDS__NOT_QUEUED
_Static_assert(EDS__NQ_BLOCK <= 32, "a block's mask is 32 bits");

static const eds__nnode nq_none = {INFINITY, UINT64_MAX, NQ_NONE};

/* (t, key) order; none is after everything (no key is UINT64_MAX) */
static inline int nq_before(const eds__nnode *a, const eds__nnode *b)
{
    return a->t < b->t || (a->t == b->t && a->key < b->key);
}

static inline void nq_node(eds__nqueue *q, uint32_t i)
{
    const eds__nnode *l = &q->tree[2 * i], *r = &q->tree[2 * i + 1];
    q->tree[i] = nq_before(r, l) ? *r : *l;
}

/* Block b's first pending entry, by its mask. */
static eds__nnode nq_scan(const eds__nqueue *q, uint32_t b)
{
    eds__nnode m = nq_none;
    for (uint32_t bits = q->mask[b]; bits; bits &= bits - 1) {
        const uint32_t id = b * EDS__NQ_BLOCK + (uint32_t)__builtin_ctz(bits);
        const eds__nnode x = {q->e[id].t, q->e[id].key, id};
        if (nq_before(&x, &m))
            m = x;
    }
    return m;
}

/* Id's entry became earlier than block b's first (or is its first, earlier than before): it
 * climbs only while it wins. */
static void nq_improve(eds__nqueue *q, uint32_t b, uint32_t id)
{
    const eds__nnode x = {q->e[id].t, q->e[id].key, id};
    uint32_t i = q->leaves + b;
    q->tree[i] = x;
    for (i >>= 1; i >= 1; i >>= 1) {
        if (q->tree[i].id != id && !nq_before(&x, &q->tree[i]))
            return;
        q->tree[i] = x;
    }
}

/* Block b's first, old, got later or left: only the nodes old won change (whatever beat old
 * beats its successor too). */
static void nq_worsen(eds__nqueue *q, uint32_t b, uint32_t old)
{
    uint32_t i = q->leaves + b;
    q->tree[i] = nq_scan(q, b);
    for (i >>= 1; i >= 1 && q->tree[i].id == old; i >>= 1)
        nq_node(q, i);
}

int eds__nqueue_reserve(eds__nqueue *q, uint32_t n_ids)
{
    if (n_ids <= q->n_ids)
        return EDS_OK;
    const uint32_t nb = (uint32_t)(((uint64_t)n_ids + EDS__NQ_BLOCK - 1) / EDS__NQ_BLOCK);
    uint32_t leaves = 1;
    while (leaves < nb)
        leaves *= 2;
    eds__nentry *e = realloc(q->e, (size_t)n_ids * sizeof *e);
    if (!e)
        return EDS_NOMEM;
    q->e = e;
    uint32_t *mask = realloc(q->mask, (size_t)nb * sizeof *mask);
    if (!mask)
        return EDS_NOMEM;
    q->mask = mask;
    eds__nnode *tree = realloc(q->tree, 2 * (size_t)leaves * sizeof *tree);
    if (!tree)
        return EDS_NOMEM;
    q->tree = tree;
    for (uint32_t id = q->n_ids; id < n_ids; id++)
        e[id] = (eds__nentry){INFINITY, UINT64_MAX};
    for (uint32_t b = q->nb; b < nb; b++)
        mask[b] = 0;
    q->n_ids = n_ids;
    q->nb = nb;
    q->leaves = leaves;
    for (uint32_t b = 0; b < leaves; b++)
        tree[leaves + b] = b < nb ? nq_scan(q, b) : nq_none;
    for (uint32_t i = leaves; i-- > 1;)
        nq_node(q, i);
    if (leaves == 1)
        tree[0] = nq_none; /* (unused) */
    return EDS_OK;
}

void eds__nqueue_set(eds__nqueue *q, uint32_t id, double t, uint64_t key)
{
    eds__nentry *x = &q->e[id];
    const uint32_t b = id / EDS__NQ_BLOCK, bit = 1u << (id % EDS__NQ_BLOCK);
    const int later = t > x->t || (t == x->t && key > x->key);
    if (!(q->mask[b] & bit)) {
        q->mask[b] |= bit;
        if (++q->size > q->max_size)
            q->max_size = q->size;
    }
    x->t = t;
    x->key = key;
    const eds__nnode *m = &q->tree[q->leaves + b], y = {t, key, id};
    if (m->id == id && later)
        nq_worsen(q, b, id);
    else if (m->id == id || nq_before(&y, m))
        nq_improve(q, b, id);
}

void eds__nqueue_remove(eds__nqueue *q, uint32_t id)
{
    eds__nentry *x = &q->e[id];
    if (x->key == UINT64_MAX)
        return;
    *x = (eds__nentry){INFINITY, UINT64_MAX};
    q->size--;
    const uint32_t b = id / EDS__NQ_BLOCK;
    q->mask[b] &= ~(1u << (id % EDS__NQ_BLOCK));
    if (q->tree[q->leaves + b].id == id)
        nq_worsen(q, b, id);
}

uint32_t eds__nqueue_pop(eds__nqueue *q)
{
    uint32_t id = q->tree[1].id;
    eds__nqueue_remove(q, id);
    return id;
}

int eds__nqueue_check(const eds__nqueue *q)
{
    uint32_t size = 0;
    for (uint32_t b = 0; b < q->nb; b++) {
        const uint32_t lo = b * EDS__NQ_BLOCK;
        const uint32_t hi = lo + EDS__NQ_BLOCK < q->n_ids ? lo + EDS__NQ_BLOCK : q->n_ids;
        eds__nnode m = nq_none;
        for (uint32_t id = lo; id < hi; id++) {
            const int pending = q->e[id].key != UINT64_MAX;
            if (pending != !!(q->mask[b] & (1u << (id - lo))))
                return EDS_STATE;
            if (!pending) {
                if (q->e[id].t != INFINITY)
                    return EDS_STATE;
                continue;
            }
            size++;
            const eds__nnode x = {q->e[id].t, q->e[id].key, id};
            if (nq_before(&x, &m))
                m = x;
        }
        const eds__nnode *leaf = &q->tree[q->leaves + b];
        if (leaf->id != m.id || !(leaf->t == m.t) || leaf->key != m.key)
            return EDS_STATE;
        if (hi - lo < EDS__NQ_BLOCK && (q->mask[b] >> (hi - lo)))
            return EDS_STATE;
    }
    if (size != q->size)
        return EDS_STATE;
    for (uint32_t b = q->nb; b < q->leaves; b++)
        if (q->tree[q->leaves + b].id != NQ_NONE)
            return EDS_STATE;
    for (uint32_t i = 1; i < q->leaves; i++) {
        const eds__nnode *l = &q->tree[2 * i], *r = &q->tree[2 * i + 1];
        const eds__nnode *w = nq_before(r, l) ? r : l;
        if (q->tree[i].id != w->id || !(q->tree[i].t == w->t) || q->tree[i].key != w->key)
            return EDS_STATE;
    }
    return EDS_OK;
}

void eds__nqueue_free(eds__nqueue *q)
{
    free(q->e);
    free(q->mask);
    free(q->tree);
    memset(q, 0, sizeof *q);
}
