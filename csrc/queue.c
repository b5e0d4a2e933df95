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
    EDS_CHECK(eds__grow((void **)&q->ev, &q->cap, q->size + 1, sizeof(eds__event)));
    eds__event e = {t, ((uint64_t)kind << SEQ_BITS) | q->seq++, id, aux, aux_t};
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
