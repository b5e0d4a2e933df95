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
 * an indexed queue, one entry per neuron, replaces "push a new event, drop the old one when it
 * pops" (which left 96 % stale events in a voltage-jump network) by an in-place update. Keys come
 * from the main queue's sequence counter, so the total order (t, rank, seq) spans both queues.
 *
 * Most updates move a prediction by a few ms, far from the earliest entry (benchmark 2: 10 per
 * pop), so entries are kept in three tiers by bucket k(t) = trunc(16 t) (1/16 ms; truncation is
 * monotone in t, so an earlier bucket means an earlier or equal time):
 *   - the near heap: buckets < k_edge, a 4-ary heap in (t, key) order, whose top is the queue's;
 *   - the ring: buckets [k_edge, k_limit), k_limit - k_edge <= EDS__NQ_BUCKETS (64 ms), one
 *     unordered doubly linked list per bucket. A member is listed under a bucket no later than
 *     its own: an update that keeps it so only rewrites the entry (benchmark 2: 90 % of updates),
 *     and refill moves a member listed early on to its own bucket when the list comes up;
 *   - the far heap: buckets >= k_limit, a 4-ary heap (times beyond the ring, or huge).
 * Invariants: pos[] says where each entry is (heap index, tagged) and pos[heap[i].id] == i; each
 * heap is in heap order; the near heap is empty only when the whole queue is (when it empties,
 * the ring's first due bucket moves into it, the ring then drawing on the far heap). So pops come
 * in exactly the (t, key) order of one heap, whatever the tiers: no two entries compare equal.
 * Bucket width and ring length: benchmark 2 costs 1 % fewer instructions at 1/16 ms than at
 * 1/8 ms, 1 % more at 1/4 ms (callgrind); a ring of 32 or 64 ms makes no difference there. */

#define N_ARITY 4 /* parent of i is (i - 1) / 4, its children 4 i + 1 .. 4 i + 4 */
#define NB EDS__NQ_BUCKETS
#define BUCKETS_PER_MS 16.0
#define K_BIG ((int64_t)1 << 60)
#define NONE UINT32_MAX

static inline int n_before(const eds__nentry *a, const eds__nentry *b)
{
    return a->t < b->t || (a->t == b->t && a->key < b->key);
}

static inline int64_t bucket_of(double t)
{
    const double x = t * BUCKETS_PER_MS;
    if (!(x < (double)K_BIG)) /* (and NaN) */
        return K_BIG;
    if (!(x > -(double)K_BIG))
        return -K_BIG;
    return (int64_t)x;
}

static inline uint32_t slot_of(int64_t k)
{
    return (uint32_t)((uint64_t)k & (NB - 1));
}

/* The bucket of ring slot s: the ring's buckets are [k_edge, k_limit), fewer than NB. */
static inline int64_t list_bucket(const eds__nqueue *q, uint32_t s)
{
    return q->k_edge + (int64_t)((s - slot_of(q->k_edge)) & (NB - 1));
}

/* Entry i of the near (far = 0) or the far heap (far = 1, stored from the array's end down). */
static inline eds__nentry *at(const eds__nqueue *q, int far, uint32_t i)
{
    return far ? &q->heap[q->cap_ids - 1 - i] : &q->heap[i];
}

static inline uint32_t tag(int far, uint32_t i)
{
    return far ? i | EDS__NQ_FAR : i;
}

static inline void sift_up(eds__nqueue *q, int far, uint32_t i, eds__nentry e)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / N_ARITY;
        const eds__nentry *pe = at(q, far, parent);
        if (!n_before(&e, pe))
            break;
        *at(q, far, i) = *pe;
        q->pos[pe->id] = tag(far, i);
        i = parent;
    }
    *at(q, far, i) = e;
    q->pos[e.id] = tag(far, i);
}

static inline void sift_down(eds__nqueue *q, int far, uint32_t n, uint32_t i, eds__nentry e)
{
    for (;;) {
        uint64_t first = (uint64_t)N_ARITY * i + 1;
        if (first >= n)
            break;
        uint32_t c = (uint32_t)first;
        uint64_t last = first + N_ARITY < n ? first + N_ARITY : n;
        for (uint32_t k = c + 1; k < last; k++)
            if (n_before(at(q, far, k), at(q, far, c)))
                c = k;
        const eds__nentry *ce = at(q, far, c);
        if (!n_before(ce, &e))
            break;
        *at(q, far, i) = *ce;
        q->pos[ce->id] = tag(far, i);
        i = c;
    }
    *at(q, far, i) = e;
    q->pos[e.id] = tag(far, i);
}

/* Entry i of a heap takes key e (same id): an earlier key can only move up, a later one down. */
static inline void heap_update(eds__nqueue *q, int far, uint32_t i, eds__nentry e)
{
    if (n_before(&e, at(q, far, i)))
        sift_up(q, far, i, e);
    else
        sift_down(q, far, far ? q->n_far : q->n_near, i, e);
}

static inline void heap_push(eds__nqueue *q, int far, eds__nentry e)
{
    uint32_t i = far ? q->n_far++ : q->n_near++;
    sift_up(q, far, i, e);
}

/* Takes entry i out of a heap (its pos is the caller's). */
static inline void heap_delete(eds__nqueue *q, int far, uint32_t i)
{
    const uint32_t n = far ? --q->n_far : --q->n_near;
    if (i != n)
        heap_update(q, far, i, *at(q, far, n)); /* the last entry takes i's place */
}

static inline void ring_link(eds__nqueue *q, eds__nentry e, int64_t k)
{
    const uint32_t s = slot_of(k), id = e.id;
    const uint64_t bit = (uint64_t)1 << (s & 63);
    e.slot = s;
    q->ring_ent[id] = e;
    q->pos[id] = EDS__NQ_RING;
    if (q->occupied[s >> 6] & bit) {
        q->next[id] = q->head[s];
        q->prev[q->head[s]] = id;
    } else {
        q->occupied[s >> 6] |= bit;
        q->next[id] = NONE;
    }
    q->prev[id] = NONE;
    q->head[s] = id;
    q->n_ring++;
}

/* Takes ring member id out of its list (its pos is the caller's). */
static inline void ring_unlink(eds__nqueue *q, uint32_t id)
{
    const uint32_t s = q->ring_ent[id].slot, nx = q->next[id], pv = q->prev[id];
    if (pv != NONE)
        q->next[pv] = nx;
    else if (nx != NONE)
        q->head[s] = nx;
    else
        q->occupied[s >> 6] &= ~((uint64_t)1 << (s & 63));
    if (nx != NONE)
        q->prev[nx] = pv;
    q->n_ring--;
}

/* Moves the far heap's entries of buckets < k_limit into the ring. */
static void pull_far(eds__nqueue *q)
{
    while (q->n_far > 0) {
        const eds__nentry e = *at(q, 1, 0);
        const int64_t k = bucket_of(e.t);
        if (k >= q->k_limit)
            return;
        heap_delete(q, 1, 0);
        ring_link(q, e, k);
    }
}

/* The near heap is empty: the first bucket whose members are due becomes it, and the ring moves
 * on. A member listed under an earlier bucket than its own (a lazy update) moves to its own. */
static void refill(eds__nqueue *q)
{
    while (q->n_near == 0) {
        if (q->n_ring == 0) {
            if (q->n_far == 0)
                return;
            q->k_edge = bucket_of(at(q, 1, 0)->t);
            q->k_limit = q->k_edge + NB;
            pull_far(q);
        }
        /* the ring's lists are < NB buckets apart: the first occupied slot from k_edge's is the
         * first list */
        const uint32_t s0 = slot_of(q->k_edge);
        uint32_t w = s0 >> 6, s = NONE;
        uint64_t bits = q->occupied[w] & (~(uint64_t)0 << (s0 & 63));
        for (uint32_t n = 0; n <= NB / 64; n++) {
            if (bits) {
                s = (w << 6) + (uint32_t)__builtin_ctzll(bits);
                break;
            }
            w = (w + 1) % (NB / 64);
            bits = q->occupied[w];
        }
        const int64_t k = q->k_edge + (int64_t)((s - s0) & (NB - 1));
        q->occupied[s >> 6] &= ~((uint64_t)1 << (s & 63));
        for (uint32_t id = q->head[s], nx; id != NONE; id = nx) {
            nx = q->next[id];
            const int64_t own = bucket_of(q->ring_ent[id].t);
            q->n_ring--;
            if (own == k)
                heap_push(q, 0, q->ring_ent[id]);
            else
                ring_link(q, q->ring_ent[id], own); /* (k < own < k_limit) */
        }
        q->k_edge = k + 1;
        q->k_limit = q->k_edge + NB;
        pull_far(q);
    }
}

/* Puts e (its id not queued) in its tier; the near heap is empty only if the queue is. */
static inline __attribute__((always_inline)) void place(eds__nqueue *q, eds__nentry e)
{
    const int64_t k = bucket_of(e.t);
    if (q->n_near == 0) {
        q->k_edge = k + 1;
        q->k_limit = q->k_edge + NB;
        heap_push(q, 0, e);
    } else if (k < q->k_edge) {
        heap_push(q, 0, e);
    } else if (k < q->k_limit) {
        ring_link(q, e, k);
    } else {
        heap_push(q, 1, e);
    }
}

int eds__nqueue_reserve(eds__nqueue *q, uint32_t n_ids)
{
    if (n_ids > EDS__NQ_RING)
        return EDS_OVERFLOW;
    uint64_t old = q->cap_ids, c[5] = {old, old, old, old, old};
    EDS_CHECK(eds__grow((void **)&q->heap, &c[0], n_ids, sizeof(eds__nentry)));
    EDS_CHECK(eds__grow((void **)&q->ring_ent, &c[1], n_ids, sizeof(eds__nentry)));
    EDS_CHECK(eds__grow((void **)&q->pos, &c[2], n_ids, sizeof(uint32_t)));
    EDS_CHECK(eds__grow((void **)&q->next, &c[3], n_ids, sizeof(uint32_t)));
    EDS_CHECK(eds__grow((void **)&q->prev, &c[4], n_ids, sizeof(uint32_t)));
    uint64_t cap = c[0];
    for (int k = 1; k < 5; k++)
        cap = c[k] < cap ? c[k] : cap;
    for (uint64_t i = old; i < c[2]; i++)
        q->pos[i] = EDS__NOT_QUEUED;
    if (cap > old && q->n_far > 0) /* the far heap stays at the array's end */
        memmove(q->heap + cap - q->n_far, q->heap + old - q->n_far, q->n_far * sizeof(eds__nentry));
    q->cap_ids = cap;
    return EDS_OK;
}

/* eds__nqueue_set's cases other than an update within the ring, out of line so that the common
 * case needs no stack frame: a new entry, and a move between tiers or lists. */
static __attribute__((noinline)) void insert(eds__nqueue *q, uint32_t id, double t, uint64_t key)
{
    const eds__nentry e = {t, key, id, 0};
    place(q, e);
    if (++q->size > q->max_size)
        q->max_size = q->size;
}

static __attribute__((noinline)) void set_slow(eds__nqueue *q, uint32_t id, double t,
                                               uint64_t key, uint32_t i, int64_t k)
{
    const eds__nentry e = {t, key, id, 0};
    if (i == EDS__NQ_RING) {
        ring_unlink(q, id);
        if (k >= q->k_edge && k < q->k_limit) { /* (before the bucket it was listed under) */
            ring_link(q, e, k);
            return;
        }
    } else if (i & EDS__NQ_FAR) {
        if (k >= q->k_limit) {
            heap_update(q, 1, i & ~EDS__NQ_FAR, e);
            return;
        }
        heap_delete(q, 1, i & ~EDS__NQ_FAR);
    } else {
        if (k < q->k_edge) {
            heap_update(q, 0, i, e);
            return;
        }
        heap_delete(q, 0, i);
        if (q->n_near == 0)
            refill(q);
    }
    q->pos[id] = EDS__NOT_QUEUED;
    place(q, e);
}

void eds__nqueue_set(eds__nqueue *q, uint32_t id, double t, uint64_t key)
{
    const uint32_t i = q->pos[id];
    const int64_t k = bucket_of(t);
    /* the common update, within the ring and not before the bucket the entry is listed under:
     * it stays listed there (refill moves it on when that bucket comes up) */
    if (i == EDS__NQ_RING && k < q->k_limit && k >= list_bucket(q, q->ring_ent[id].slot)) {
        q->ring_ent[id].t = t;
        q->ring_ent[id].key = key;
        return;
    }
    if (i == EDS__NOT_QUEUED)
        insert(q, id, t, key);
    else
        set_slow(q, id, t, key, i, k);
}

/* Takes queued entry id (at pos i) out (out of line: most removals find nothing queued). */
static __attribute__((noinline)) void remove_at(eds__nqueue *q, uint32_t id, uint32_t i)
{
    q->pos[id] = EDS__NOT_QUEUED;
    q->size--;
    if (i < EDS__NQ_RING) {
        heap_delete(q, 0, i);
        if (q->n_near == 0)
            refill(q);
    } else if (i == EDS__NQ_RING) {
        ring_unlink(q, id);
    } else {
        heap_delete(q, 1, i & ~EDS__NQ_FAR);
    }
}

void eds__nqueue_remove(eds__nqueue *q, uint32_t id)
{
    const uint32_t i = q->pos[id];
    if (i != EDS__NOT_QUEUED)
        remove_at(q, id, i);
}

uint32_t eds__nqueue_pop(eds__nqueue *q)
{
    const uint32_t id = q->heap[0].id;
    remove_at(q, id, 0);
    return id;
}

int eds__nqueue_check(const eds__nqueue *q)
{
    if (q->size != q->n_near + q->n_ring + q->n_far || (q->n_near == 0 && q->size != 0) ||
        q->n_near + q->n_far > q->cap_ids || (q->size > 0 && q->k_limit - q->k_edge > NB))
        return EDS_STATE;
    for (int far = 0; far < 2; far++) {
        const uint32_t n = far ? q->n_far : q->n_near;
        for (uint32_t i = 0; i < n; i++) {
            const eds__nentry *e = at(q, far, i);
            const int64_t k = bucket_of(e->t);
            if (e->id >= q->cap_ids || q->pos[e->id] != tag(far, i))
                return EDS_STATE;
            if (i > 0 && n_before(e, at(q, far, (i - 1) / N_ARITY)))
                return EDS_STATE;
            if (far ? k < q->k_limit : k >= q->k_edge)
                return EDS_STATE;
        }
    }
    uint32_t n_ring = 0;
    for (uint32_t s = 0; s < NB; s++) {
        if (!(q->occupied[s >> 6] & ((uint64_t)1 << (s & 63))))
            continue;
        uint32_t prev = NONE;
        for (uint32_t id = q->head[s]; id != NONE; id = q->next[id]) {
            if (id >= q->cap_ids || q->pos[id] != EDS__NQ_RING || q->prev[id] != prev ||
                q->ring_ent[id].id != id || ++n_ring > q->n_ring)
                return EDS_STATE;
            const int64_t k = bucket_of(q->ring_ent[id].t), listed = list_bucket(q, s);
            if (listed >= q->k_limit || k < listed || k >= q->k_limit || q->ring_ent[id].slot != s)
                return EDS_STATE;
            prev = id;
        }
        if (prev == NONE) /* an occupied slot with an empty list */
            return EDS_STATE;
    }
    if (n_ring != q->n_ring)
        return EDS_STATE;
    uint64_t n_queued = 0;
    for (uint64_t id = 0; id < q->cap_ids; id++)
        n_queued += q->pos[id] != EDS__NOT_QUEUED;
    return n_queued == q->size ? EDS_OK : EDS_STATE;
}

void eds__nqueue_free(eds__nqueue *q)
{
    free(q->heap);
    free(q->ring_ent);
    free(q->pos);
    free(q->next);
    free(q->prev);
    memset(q, 0, sizeof *q);
}
