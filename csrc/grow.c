/* The one growth helper: every dynamic array of the core grows here, by doubling, with every size
 * computation checked for overflow. */
#include "internal.h"

int eds__grow(void **buf, uint64_t *cap, uint64_t need, size_t size)
{
    if (need <= *cap)
        return EDS_OK;
    uint64_t new_cap = *cap ? *cap : 16;
    while (new_cap < need) {
        if (new_cap > UINT64_MAX / 2)
            return EDS_OVERFLOW;
        new_cap *= 2;
    }
    if (size == 0 || new_cap > SIZE_MAX / size)
        return EDS_OVERFLOW;
    void *p = realloc(*buf, (size_t)new_cap * size);
    if (!p)
        return EDS_NOMEM;
    *buf = p;
    *cap = new_cap;
    return EDS_OK;
}
