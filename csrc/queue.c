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
 * an indexed heap, one slot per neuron, replaces "push a new event, drop the old one when it
 * pops" (which left 96 % stale events in a voltage-jump network) by an in-place update. Keys come
 * from the main queue's sequence counter, so the total order (t, rank, seq) spans both heaps.
 * Invariant: heap order on (t[id], key[id]); pos[heap[i]] == i; pos[id] == EDS__NOT_QUEUED for
 * neurons without a pending event. */

static inline int n_before(const eds__nentry *a, const eds__nentry *b)
{
    return a->t < b->t || (a->t == b->t && a->key < b->key);
}

/* The neuron queue is a 4-ary heap: half the depth of a binary one, and a node's four children
 * share one or two cache lines; parent of i is (i - 1) / 4, its children 4 i + 1 .. 4 i + 4. */
#define N_ARITY 4

static void n_sift_up(eds__nqueue *q, uint32_t i, eds__nentry e)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / N_ARITY;
        if (!n_before(&e, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        q->pos[q->heap[i].id] = i;
        i = parent;
    }
    q->heap[i] = e;
    q->pos[e.id] = i;
}

static void n_sift_down(eds__nqueue *q, uint32_t i, eds__nentry e)
{
    const uint32_t n = q->size;
    for (;;) {
        uint64_t first = (uint64_t)N_ARITY * i + 1;
        if (first >= n)
            break;
        uint32_t c = (uint32_t)first;
        uint64_t last = first + N_ARITY < n ? first + N_ARITY : n;
        for (uint32_t k = c + 1; k < last; k++)
            if (n_before(&q->heap[k], &q->heap[c]))
                c = k;
        if (!n_before(&q->heap[c], &e))
            break;
        q->heap[i] = q->heap[c];
        q->pos[q->heap[i].id] = i;
        i = c;
    }
    q->heap[i] = e;
    q->pos[e.id] = i;
}

int eds__nqueue_reserve(eds__nqueue *q, uint32_t n_ids)
{
    uint64_t old = q->cap_ids, c1 = old, c2 = old;
    EDS_CHECK(eds__grow((void **)&q->heap, &c1, n_ids, sizeof(eds__nentry)));
    EDS_CHECK(eds__grow((void **)&q->pos, &c2, n_ids, sizeof(uint32_t)));
    for (uint64_t i = old; i < c2; i++)
        q->pos[i] = EDS__NOT_QUEUED;
    q->cap_ids = c1 < c2 ? c1 : c2;
    return EDS_OK;
}

void eds__nqueue_set(eds__nqueue *q, uint32_t id, double t, uint64_t key)
{
    uint32_t i = q->pos[id];
    const eds__nentry e = {t, key, id};
    if (i == EDS__NOT_QUEUED) {
        i = q->size++;
        if (q->size > q->max_size)
            q->max_size = q->size;
        n_sift_up(q, i, e);
        return;
    }
    /* an earlier key can only move up, a later one only down */
    if (n_before(&e, &q->heap[i]))
        n_sift_up(q, i, e);
    else
        n_sift_down(q, i, e);
}

void eds__nqueue_remove(eds__nqueue *q, uint32_t id)
{
    uint32_t i = q->pos[id];
    if (i == EDS__NOT_QUEUED)
        return;
    q->pos[id] = EDS__NOT_QUEUED;
    eds__nentry last = q->heap[--q->size];
    if (i == q->size)
        return;
    if (n_before(&last, &q->heap[i]))
        n_sift_up(q, i, last);
    else
        n_sift_down(q, i, last);
}

uint32_t eds__nqueue_pop(eds__nqueue *q)
{
    uint32_t id = q->heap[0].id;
    eds__nqueue_remove(q, id);
    return id;
}

int eds__nqueue_check(const eds__nqueue *q)
{
    for (uint32_t i = 0; i < q->size; i++) {
        if (q->pos[q->heap[i].id] != i)
            return EDS_STATE;
        if (i > 0 && n_before(&q->heap[i], &q->heap[(i - 1) / N_ARITY]))
            return EDS_STATE;
    }
    return EDS_OK;
}

void eds__nqueue_free(eds__nqueue *q)
{
    free(q->heap);
    free(q->pos);
    memset(q, 0, sizeof *q);
}
