/* Internal structures of the C core, shared by its .c files only. */
#ifndef EDSIM_INTERNAL_H
#define EDSIM_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edsim.h"
#include "fastexp.h"

#define EDS_CHECK(expr)                                                                            \
    do {                                                                                           \
        int eds__rc = (expr);                                                                      \
        if (eds__rc != EDS_OK)                                                                     \
            return eds__rc;                                                                        \
    } while (0)

/* Grows *buf (elements of `size` bytes, capacity *cap) to hold at least `need` elements, by
 * doubling. The one place where arrays grow: it checks every size computation for overflow. */
int eds__grow(void **buf, uint64_t *cap, uint64_t need, size_t size);

/* ---- event queue (queue.c) ---- */

/* One event. `key` packs the kind's rank (top 8 bits) above the push sequence number (low 56),
 * so (t, key) is the whole total order and compares in two steps. */
typedef struct {
    double t;
    uint64_t key;
    uint32_t id;    /* neuron, source or sampler the event concerns */
    uint32_t aux;   /* generation (FIRE, RECHECK, REFRAC_END, EMIT) or delay group (DELIVER) */
    double aux_t;   /* spike time of a DELIVER event */
} eds__event;

typedef struct {
    eds__event *ev;
    uint64_t size, cap, seq, max_size;
} eds__queue;

/* Indexed queue of at most one pending event per neuron (queue.c): a near heap, a ring of time
 * buckets and a far heap, ordered by bucket (pos[] tags say which holds an entry). */
#define EDS__NOT_QUEUED UINT32_MAX
#define EDS__NQ_FAR (1u << 31)  /* pos: index in the far heap */
#define EDS__NQ_RING (1u << 30) /* pos: in the ring (ids are < 2^30: EDS__TARGET_MASK) */
#define EDS__NQ_BUCKETS 1024    /* ring slots (a multiple of 64) */
typedef struct {
    double t;
    uint64_t key;
    uint32_t id;
    uint32_t slot; /* a ring member's slot (queue.c) */
} eds__nentry;

/* Heap entries sit in the heaps themselves (not behind an id), so that sifting compares
 * contiguous memory. The near heap grows from heap[0] up, the far heap from heap[cap_ids - 1]
 * down: together they never hold more than one entry per id. */
typedef struct {
    eds__nentry *heap;
    eds__nentry *ring_ent;   /* per id: the entry of a ring member */
    uint32_t *pos;           /* id -> near index, far index | EDS__NQ_FAR, EDS__NQ_RING, or
                              * EDS__NOT_QUEUED */
    uint32_t *next, *prev;   /* ring members: one doubly linked list per slot */
    uint32_t size, max_size; /* entries in all three */
    uint32_t n_near, n_far, n_ring;
    uint64_t cap_ids;
    int64_t k_edge, k_limit; /* near: buckets < k_edge; ring: [k_edge, k_limit); far: the rest */
    uint32_t head[EDS__NQ_BUCKETS];
    uint64_t occupied[EDS__NQ_BUCKETS / 64];
} eds__nqueue;

static inline int eds__nqueue_has(const eds__nqueue *q, uint32_t id)
{
    return q->pos[id] != EDS__NOT_QUEUED;
}
/* requires eds__nqueue_has(q, id) */
static inline const eds__nentry *eds__nqueue_entry(const eds__nqueue *q, uint32_t id)
{
    uint32_t i = q->pos[id];
    if (i == EDS__NQ_RING)
        return &q->ring_ent[id];
    if (i & EDS__NQ_FAR)
        return &q->heap[q->cap_ids - 1 - (i & ~EDS__NQ_FAR)];
    return &q->heap[i];
}
/* requires size > 0: the near heap is empty only when the whole queue is */
static inline const eds__nentry *eds__nqueue_first(const eds__nqueue *q)
{
    return &q->heap[0];
}

int eds__nqueue_reserve(eds__nqueue *q, uint32_t n_ids);
void eds__nqueue_set(eds__nqueue *q, uint32_t id, double t, uint64_t key);
void eds__nqueue_remove(eds__nqueue *q, uint32_t id);
uint32_t eds__nqueue_pop(eds__nqueue *q); /* requires size > 0 */
int eds__nqueue_check(const eds__nqueue *q);
void eds__nqueue_free(eds__nqueue *q);

int eds__queue_push(eds__queue *q, double t, int kind, uint32_t id, uint32_t aux, double aux_t);
int eds__queue_insert(eds__queue *q, const eds__event *e); /* an event whose key is already set */
void eds__queue_pop(eds__queue *q, eds__event *out); /* requires size > 0 */
int eds__queue_check(const eds__queue *q);
void eds__queue_free(eds__queue *q);

/* Delay line: the pending deliveries over one delay value, in (t, key) order. Spikes leave in
 * time order, so deliveries over the same delay arrive in time order too; they wait here in FIFO
 * order and only the line's head sits in the main heap (marked by EDS__FIFO_FLAG in aux). In
 * Brunel's network this keeps ~400,000 pending external deliveries out of the heap. A delivery
 * that would arrive before the line's tail (a time-driven spike found late in its step) goes to
 * the heap instead, so the order stays exact. Ring buffer: ev[(head + k) % cap], k < count. */
typedef struct {
    eds__event *ev;
    uint64_t head, count, cap;
} eds__fifo;

#define EDS__FIFO_FLAG 0x80000000u   /* in a DELIVER's aux: the event is its delay line's head */
#define EDS__NO_FIFO UINT32_MAX
#define EDS__MAX_FIFOS 64             /* more distinct delays than this: all deliveries in the heap */

int eds__fifo_push(eds__fifo *f, const eds__event *e);
static inline const eds__event *eds__fifo_head(const eds__fifo *f) { return &f->ev[f->head]; }
static inline const eds__event *eds__fifo_tail(const eds__fifo *f)
{
    return &f->ev[(f->head + f->count - 1) % f->cap];
}
void eds__fifo_pop(eds__fifo *f); /* requires count > 0 */

/* ---- conductance LIF lookup table (lut_cond.c) ---- */

typedef struct {
    int32_t e0, m, n;
    uint64_t base;  /* bits(2^e0) >> (52 - m) */
    double x0;      /* 2^e0 */
    double x_max;   /* last node */
} eds__axis;

struct eds_cond_lut {
    eds_cond_table tab;
    eds__axis ge, gi, t;
    double g_leak;
    double v_inf;   /* potential without synaptic input */
    double *t_nodes;                      /* t axis nodes */
    double *decay_e, *decay_i, *decay_m;  /* exp(-t_k / tau) at the t nodes */
    double *lag_ge, *lag_gi;              /* per stencil: its 4 node y-values, then the inverse
                                             Lagrange denominators */
    /* per-node and per-cell constants, so the hot paths repeat no arithmetic whose result is
     * fixed by the table (each computed by the same operations as where it is used) */
    double *t_tau_m;                      /* t_k / tau_m */
    double *rise_e, *rise_i;              /* 1 - decay_e[k], 1 - decay_i[k] */
    double *reject;                       /* [ke][ki] over the ge_n-1 x gi_n-1 cells: largest
                                             corner reach at the last node plus its margin */
    uint64_t stencil[16];                 /* offsets of the 4x4 (ge, gi) stencil's t rows */
    int inhibition_keeps_silent;          /* see eds_cond_lut_new */
};

/* ---- lookup table of a model declared by its equations (lut_gen.c) ---- */

typedef struct {
    double lo, step, inv_step;  /* node k = lo + k step */
    int32_t n;                  /* 1: absent variable, a single node at lo = 0 */
} eds__uaxis;

struct eds_gen_lut {
    eds_gen_table tab;
    eds__uaxis v, fv, s1, s2;   /* v0 axis of the v table, v axis of f, synaptic axes */
    eds__axis t;
    double *t_nodes;            /* t axis nodes */
    double *decay1, *decay2;    /* exp(-t_k / tau) at the t nodes */
    uint32_t k_rk4;             /* last node of a numerically integrated segment */
    uint32_t c1_n, c2_n;        /* stencil starts along s1, s2 (the clean table's shape) */
};

/* ---- exactly solvable neurons (exact.c) ---- */

typedef struct {
    eds_curr_params p;
    int delta;                  /* IF_curr_delta: no synaptic currents, inputs jump v */
    double v_inf;               /* v_rest + i_offset tau_m / cm */
    double d_e, d_i;            /* 1/tau_m - 1/tau_syn */
    double k_e, k_i;            /* max over t of the synaptic kernels (ms) */
    double horizon, step0;      /* prediction walk */
    /* exponential form v = v_inf + a e^{-r_m t} + b_e e^{-r_e t} + b_i e^{-r_i t}, b_x = I_x c_x */
    int separated;              /* time constants apart enough for it (else the walk) */
    double r_m, r_e, r_i;       /* 1/tau (1/ms) */
    double c_e, c_i;            /* 1 / (cm d_x) */
    double tol, far;            /* final-step gap (mV); search length before a RECHECK (ms) */
} eds__exact;

int eds__exact_init(eds__exact *m, const eds_curr_params *p, int delta);
double eds__exact_v(const eds__exact *m, double v0, double ie0, double ii0, double t);
/* (v, I_e, I_i) after t >= 0 ms without input: eds__exact_v's v, the currents decayed. */
void eds__exact_advance(const eds__exact *m, double v0, double ie0, double ii0, double t,
                        double out[3]);
/* The same in the separated form, given e[] = e^{-r_x t} for x = m, e, i (inline: once per
 * IF_curr_exp input). */
static inline void eds__exact_advance_by(const eds__exact *m, double v0, double ie0, double ii0,
                                         const double e[3], double out[3])
{
    double be = ie0 * m->c_e, bi = ii0 * m->c_i, a = (v0 - m->v_inf) - be - bi;
    out[0] = m->v_inf + a * e[0] + be * e[1] + bi * e[2];
    out[1] = ie0 * e[1];
    out[2] = ii0 * e[2];
}
int eds__exact_predict(const eds__exact *m, double v0, double ie0, double ii0, double *when,
                       int *recheck, eds_stats *stats);

/* The search's safe step (exact.c, search_separated): v'' is at most big_m on all of [t_a, inf),
 * so v cannot reach theta before t_a + step, the smaller root of gap = v'_a step + big_m step^2 /
 * 2 (in a form without cancellation); INFINITY when v falls and is concave ahead. */
static inline double eds__exact_safe_step(double d_a, double big_m, double gap)
{
    if (d_a >= 0.0) {
        const double den = d_a + sqrt(d_a * d_a + 2.0 * big_m * gap);
        return den > 0.0 ? 2.0 * gap / den : INFINITY;
    }
    return big_m > 0.0 ? (-d_a + sqrt(d_a * d_a + 2.0 * big_m * gap)) / big_m : INFINITY;
}

/* The common prediction of a cell that fires on its own (v_inf > v_thresh) in the separated
 * form: the search's first safe step (from t = 0, where the exponentials are 1) already passes
 * m->far. Returns 1 with that step in *t_b when it does, and eds__exact_predict would then answer
 * a RECHECK at *t_b bit for bit (the same operations in the same order: exact.c's
 * search_separated); 0 when the full prediction is needed. Inline: once per excitatory input,
 * where the call and eds__exact_predict's preamble cost about a third of the prediction. A
 * non-finite state gives a non-finite gap or step, which is refused here. */
static inline int eds__exact_first_step(const eds__exact *m, double v0, double ie0, double ii0,
                                        double *t_b)
{
    const double theta = m->p.v_thresh, v_inf = m->v_inf;
    if (!(v0 < theta && v_inf > theta))
        return 0;
    const double rm = m->r_m, re = m->r_e, ri = m->r_i;
    const double be = ie0 * m->c_e, bi = ii0 * m->c_i, a = (v0 - v_inf) - be - bi;
    const double gap = theta - (v_inf + a + be + bi);
    if (!(gap > m->tol && gap < INFINITY)) /* (the final Taylor step, or not finite) */
        return 0;
    /* (the search's test "v_inf plus the positive terms < theta" fails: v_inf > theta) */
    const double d_a = -(a * rm + be * re + bi * ri);
    const double big_m = (a > 0.0 ? a : 0.0) * rm * rm + (be > 0.0 ? be : 0.0) * re * re +
                         (bi > 0.0 ? bi : 0.0) * ri * ri;
    const double t = 0.0 + eds__exact_safe_step(d_a, big_m, gap);
    if (!(t < m->horizon && t >= m->far)) /* (an infinite step: the full search answers) */
        return 0;
    *t_b = t;
    return 1;
}

/* ---- time-driven neurons (clock.c) ---- */

/* One time-driven model. State is neuron-major, n_state doubles per neuron; refractoriness, if
 * any, lives in the state. step advances one neuron by h ms; if it fired, *spiked = 1 and
 * *offset is the interpolated spike time within [0, h). */
typedef struct {
    const char *name;
    uint32_t n_params, n_state;
    int (*check)(const double *p);
    void (*init)(const double *p, double *x);
    void (*step)(const double *p, double *x, double h, int *spiked, double *offset);
    void (*input)(const double *p, double *x, int receptor, double w, double late);
    void (*project)(const double *p, const double *x, double out[3]);
    /* optional: step n consecutive neurons by h ms each, in order, stopping after the first that
     * fires; returns how many were stepped, *spiked and *offset as step's for the last one */
    uint32_t (*step_run)(const double *p, double *x, uint32_t n, double h, int *spiked,
                         double *offset);
} eds__clock_ops;

const eds__clock_ops *eds__clock_model(int model);

/* ---- simulation (sim.c) ---- */

enum {
    EDS__POP_COND = 1,      /* IF_cond_exp, lookup table */
    EDS__POP_SPIKES = 2,    /* spike-time source */
    EDS__POP_POISSON = 3,   /* Poisson source */
    EDS__POP_CURR = 4,      /* IF_curr_exp, exact */
    EDS__POP_DELTA = 5,     /* IF_curr_delta, exact */
    EDS__POP_CLOCK = 6,     /* time-driven model */
    EDS__POP_GEN = 7        /* model declared by its equations, lookup table */
};

/* Event-driven neurons (COND, CURR, DELTA, GEN) share one state layout: v, two exponentially
 * decaying synaptic variables s1 (excitatory) and s2 (inhibitory), exact at t_last. */
#define EDS__EVENT_DRIVEN(kind)                                                                    \
    ((kind) == EDS__POP_COND || (kind) == EDS__POP_CURR || (kind) == EDS__POP_DELTA ||             \
     (kind) == EDS__POP_GEN)

/* Poisson drive fused into IF_curr_delta neurons (drive.c): per neuron its source and a ring
 * buffer of its next arrival times. */
#define EDS__DRIVE_K 32
#define EDS__NO_DRIVE UINT32_MAX
/* IF_curr_delta cells that fire on their own, keyed by the exponential of their firing time
 * (xdelta.c): per cell X (+inf: not queued, refractory) and key (seq); per block of cells its
 * first, and a tournament tree over the blocks (tree[1] the first cell of all). */
typedef struct {
    double *x;
    double *x_jump;             /* X of a cell with x = -inf (at threshold by a jump now) */
    uint64_t *key;
    uint32_t n, nb, leaves;
    uint32_t *bmin, *tree;
    uint32_t size, max_size;    /* cells queued */
    double c;                   /* v_inf - v_thresh > 0 (mV) */
    double t0;                  /* epoch: X = e^{(T - t0) / tau_m} */
    double g_t, g, gw;          /* G(g_t) = e^{(g_t - t0) / tau_m} and G / c, cached */
    uint32_t rep;               /* the cell with the neuron-queue entry, or EDS__NOT_QUEUED */
    uint64_t rep_key;           /* its heap key when that entry was made */
} eds__xd;

typedef struct {
    uint32_t *src_pop;      /* population of neuron j's source, or EDS__NO_DRIVE */
    uint32_t *src_id;       /* that source's id: the key of its random stream */
    uint64_t *group;        /* the source's delay group (one synapse: weight and delay) */
    uint64_t *draws;        /* random numbers drawn from the source's stream */
    double *last_spike;     /* the source's last spike drawn (its window's start at first) */
    uint64_t *block;        /* n * 4: the last Philox block of each source, and its index + 1 */
    uint64_t *block_k;
    double *buf;            /* n * EDS__DRIVE_K arrival times, ring per neuron */
    uint8_t *head, *count, *done;
    uint8_t *wake_left;     /* buffered arrivals up to and including the pending wake; 0: none */
} eds__drive;

typedef struct {
    int kind;
    uint32_t first, n;
    eds__drive *drive;                  /* DELTA: fused Poisson drive, or NULL */
    int fused;                          /* POISSON: fused into its targets, emits nothing */
    /* event-driven neurons */
    const eds_cond_lut *lut;            /* COND */
    const eds_gen_lut *glut;            /* GEN */
    eds__exact exact;                   /* CURR, DELTA */
    double tau1, tau2, v_reset, tau_refrac;
    double *v, *s1, *s2, *t_last, *refr_until;
    uint32_t *gen;                      /* firing-prediction generation; sources: emit gen */
    /* REFRAC_ENDs in (t, key) order, as fires come in time order with one tau_refrac. Its head
     * is valid and sits in its neuron's own slot of the neuron queue (the slot a refractory
     * neuron does not use); the others wait here, and are dropped when they reach the head if
     * their neuron left refractoriness meanwhile (a state set). A REFRAC_END that would go
     * before the tail (tau_refrac made shorter) takes its neuron's slot directly instead. */
    eds__fifo refrac;
    eds__xd *xd;                        /* DELTA with v_inf > v_thresh (xdelta.c), else NULL */
    /* CURR, COND: 1 while the pending FIRE is a lower bound of the crossing, not the crossing
     * (CURR: an inhibitory input, which can only delay it, skipped the prediction; COND: the
     * prediction was deferred to the time its walk would start from); on_fire settles it. Only
     * predict() (which clears it) or such a deferral puts a FIRE in the slot, so a value left
     * behind when the slot empties is never read. */
    uint8_t *late_fire;
    /* An input's decays as products of factors on the population's epoch ep_t0, computed once
     * per input time (ep_t: the time of the cached factors, NaN: none) for all its targets. The
     * epoch moves at event times only, so any split of a run gives the same bits. */
    double ep_t0, ep_t;
    /* COND: g[2 j] = ge e^{(t - t0) / tau1} and g[2 j + 1] = gi e^{(t - t0) / tau2} (side by
     * side: one cache line per input), constant between neuron j's inputs (cond_epoch in sim.c).
     * s1[j], s2[j] stay ge, gi at t_last[j] (the start of the table's advance; state reads decay
     * them): the same values to rounding. The epoch moves once t - t0 > EDS__COND_EPOCH
     * min(tau1, tau2). */
    double *g;
    double ep_f1, ep_f2, ep_r1, ep_r2;  /* e^{-(ep_t - t0) / tau}, e^{(ep_t - t0) / tau} */
    /* CURR in the separated form: an input's e^{-(t - t_last)/tau_x} (x = m, e, i) is the product
     * of e^{-(t - t0)/tau_x}, shared by all inputs at t, and the cell's e^{(t_last - t0)/tau_x},
     * kept from its last input: ep_g[3 j + x], valid while ep_at[j] == t_last[j] (sim.c
     * curr_advance). t0 moves (invalidating every cell's) once t - t0 exceeds CURR_EPOCH times
     * the fastest time constant, at inputs only. */
    double *ep_g, *ep_at;
    double ep_h[3], ep_gt[3];           /* the factors at ep_t */
    /* CLOCK */
    const eds__clock_ops *clock;
    double *params;
    double *x;                          /* n * clock->n_state */
    double dt, t0;
    uint64_t step_k;                    /* the state is at t0 + step_k * dt */
    /* inputs of the step under way, in arrival order, and scratch to group them by neuron */
    uint32_t *in_j;
    double *in_t, *in_w;
    uint8_t *in_r;
    uint64_t n_in, cap_in;
    uint64_t *in_order, cap_order, *in_start;
    /* SPIKES: per source a sorted array of times and a cursor. */
    double **times;
    uint64_t *n_times, *cap_times, *cursor;
    /* POISSON */
    double rate, start, stop;
    uint64_t draws;                     /* random numbers drawn so far (the population's stream) */
    uint64_t block[4], block_k;         /* last Philox block computed, and its index + 1 (0: none) */
    /* SPIKES, closed-loop inputs (control.c; allocated at the first run or the first staging):
     * per source, the events popped when it last emitted (0: never), whether it has spikes
     * staged since the last run, and the time of its live EMIT when they were first staged
     * (INFINITY: none) */
    uint64_t *emitted_at;
    uint8_t *staged;
    double *staged_head;
} eds__pop;

typedef struct {
    uint32_t *ids;
    uint32_t n;
    double start, interval;
    uint64_t next_k;    /* index of the next sample time start + k * interval */
    double *t;          /* rows */
    double *values;     /* rows * n * 3 */
    uint64_t rows, cap_rows;
    int paused;         /* shed (control.c): samples are skipped, not computed */
    uint64_t n_skipped; /* rows skipped while paused */
} eds__sampler;

/* Closed-loop control state (control.c): staged inputs, tracked synapses, shedding counters. */
typedef struct {
    uint64_t first, n;  /* staged synapse indices [first, first + n) */
    uint64_t *pos;      /* their positions in the frozen CSR (after the first run) */
} eds__track;

typedef struct {
    uint32_t *dirty;            /* spike sources with staged spikes, each once */
    uint64_t n_dirty, cap_dirty;
    eds__track *tracks;
    uint32_t n_tracks;
    uint64_t n_spikes_shed;     /* spikes not recorded because their recording was shed */
} eds__control;

/* recorded[id]: 0 not recorded, 1 recorded, EDS__REC_SHED recorded but shed (counted, dropped) */
#define EDS__REC_SHED 2

struct eds_sim {
    uint64_t seed;
    double now;
    int started;            /* connectivity frozen */
    int failed;             /* a mutating call failed: refuse further work */
    eds__queue queue;       /* every event but the neurons' own */
    eds__nqueue nqueue;     /* FIRE, REFRAC_END and RECHECK: one slot per event-driven neuron */
    eds__pop *pops;
    uint32_t n_pops;
    uint32_t n_ids;
    uint32_t *pop_of;       /* id -> population index */
    uint8_t *recorded;      /* id -> record spikes */
    /* staged synapses (until the first run) */
    uint32_t *s_pre, *s_post;
    float *s_w;
    double *s_d;
    uint8_t *s_rec;
    uint64_t n_staged, cap_staged;
    /* frozen CSR: per id its delay groups [grp_of[id], grp_of[id+1]); per group its delay and its
     * synapses [grp_start[g], grp_start[g+1]); per synapse target | receptor << 30, weight. */
    uint64_t *grp_of;
    double *grp_delay;
    uint64_t *grp_start;
    uint32_t *syn_target;
    float *syn_weight;
    uint64_t n_groups, n_syn;
    /* delay lines: per group its line (EDS__NO_FIFO: none), or grp_fifo == NULL for no lines */
    uint32_t *grp_fifo;
    eds__fifo *fifos;
    uint32_t n_fifos;
    /* spike recording */
    double *rec_t;
    uint32_t *rec_id;
    uint64_t n_rec, cap_rec;
    eds__sampler *samplers;
    uint32_t n_samplers;
    eds_stats stats;
    eds__control ctl;       /* closed-loop control (control.c) */
};

#define EDS__RECEPTOR_SHIFT 30
#define EDS__TARGET_MASK ((1u << EDS__RECEPTOR_SHIFT) - 1u)

/* lut_cond.c: firing prediction and advance used by the run loop; count into stats. ge == NULL:
 * v alone (the run loop takes the conductances from their population's epoch, sim.c). */
int eds__cond_predict(const eds_cond_lut *lut, double v0, double ge0, double gi0, double *when,
                      int *recheck, eds_stats *stats);
int eds__cond_advance(const eds_cond_lut *lut, double v0, double ge0, double gi0, double dt,
                      double *v, double *ge, double *gi, eds_stats *stats);
/* A time (from the start) before which eds__cond_predict's answer for this start cannot fall,
 * from the reach bound alone: the time node where its walk would begin. 0 when the start is at or
 * above threshold or outside the table. */
double eds__cond_not_before(const eds_cond_lut *lut, double v0, double ge0, double gi0);
/* v[i] = eds__cond_advance's v from (v0[i], ge0[i], gi0[i]) after dt[i], for i < n <=
 * EDS__COND_BATCH independent starts (a delivery's targets), bit for bit. */
#define EDS__COND_BATCH 16
int eds__cond_advance_batch(const eds_cond_lut *lut, uint32_t n, const double *v0,
                            const double *ge0, const double *gi0, const double *dt, double *v,
                            eds_stats *stats);
/* Whether a neuron that cannot fire (its last prediction: never) still cannot after an inhibitory
 * input of weight w at potential v, so that the prediction need not be made again (lut_cond.c). */
static inline int eds__cond_stays_silent(const eds_cond_lut *lut, double v, double w)
{
    return lut->inhibition_keeps_silent && v >= lut->tab.e_rev_i && w >= 0.0;
}

/* lut_gen.c: the same for models declared by their equations. */
int eds__gen_predict(const eds_gen_lut *lut, double v0, double s10, double s20, double *when,
                     int *recheck, eds_stats *stats);
int eds__gen_advance(const eds_gen_lut *lut, double v0, double s10, double s20, double dt,
                     double *v, double *s1, double *s2, eds_stats *stats);

/* synapses.c */
int eds__synapses_freeze(eds_sim *sim);
void eds__synapses_free(eds_sim *sim);

/* drive.c */
int eds__drive_fuse(eds_sim *sim);
void eds__drive_free(eds__pop *p);
/* Applies neuron j's arrivals before t (and at t if inclusive); *fired_at = the time of the
 * arrival that lifted it to threshold (only allowed at t), else NaN. */
int eds__drive_consume(eds_sim *sim, eds__pop *p, uint32_t j, double t, int inclusive,
                       double *fired_at);
/* Fills the buffer for the next wake; *wake_index = its buffer slot, UINT32_MAX: none needed. */
int eds__drive_schedule(eds_sim *sim, eds__pop *p, uint32_t j, uint32_t *wake_index);
double eds__drive_wake_time(const eds__pop *p, uint32_t j, uint32_t wake_index);
/* Whether neuron j's pending wake still comes no later than the first arrival that could lift
 * it to threshold (then an input need not move it). */
int eds__drive_wake_ok(const eds_sim *sim, const eds__pop *p, uint32_t j);
/* v at t (arrivals before t, and at t if inclusive), without consuming; *t_v: its last update. */
int eds__drive_state_v(const eds_sim *sim, const eds__pop *p, uint32_t j, double t, int inclusive,
                       double *v, double *t_v);
static inline int eds__driven(const eds__pop *p, uint32_t j)
{
    return p->drive && p->drive->src_pop[j] != EDS__NO_DRIVE;
}
/* Brings neuron j's fused drive, if any, up to t: every touch of a driven neuron at t starts
 * here. None of these arrivals can fire it (its wake would have come first). */
static inline int eds__drive_catch_up(eds_sim *sim, eds__pop *p, uint32_t j, double t)
{
    double fired;
    return eds__driven(p, j) ? eds__drive_consume(sim, p, j, t, 0, &fired) : EDS_OK;
}

/* v of an IF_curr_delta cell dt >= 0 ms after it was v: the decay towards v_inf. The one place of
 * this arithmetic (inputs through the queue, a fused drive's arrivals, state reads, predictions
 * after a RECHECK), so that every path gives the same bits. */
static inline double eds__delta_decay(const eds__exact *m, double v, double dt)
{
    return m->v_inf + (v - m->v_inf) * eds__exp(-dt / m->p.tau_m);
}

/* An IF_curr_delta cell's input of w mV at t >= t_last: decay, then the jump. */
static inline int eds__delta_jump(eds__pop *p, uint32_t j, double t, double w)
{
    double dt = t - p->t_last[j];
    if (!(dt >= 0.0))
        return EDS_INVALID;
    double v = eds__delta_decay(&p->exact, p->v[j], dt) + w;
    if (!isfinite(v))
        return EDS_INVALID;
    p->v[j] = v;
    p->t_last[j] = t;
    return EDS_OK;
}

/* xdelta.c: DELTA populations with p->xd. Every cell that is not refractory waits in p->xd's
 * heap; the functions that change it give its first cell the population's neuron-queue entry. */
int eds__xd_init(eds__pop *p, double now); /* epoch at now */
void eds__xd_free(eds__pop *p);
int eds__xd_predict(eds_sim *sim, eds__pop *p, uint32_t j);  /* from v[j] at t_last[j] == now */
/* synapses [*s, hi) of a delivery at t while their target is in p; *s becomes the next one */
int eds__xd_deliver(eds_sim *sim, eds__pop *p, double t, uint64_t *s, uint64_t hi);
void eds__xd_fired(eds__pop *p, uint32_t j);     /* j's entry was popped: out of the heap */
int eds__xd_sync(eds_sim *sim, eds__pop *p);
double eds__xd_v(const eds__pop *p, uint32_t j, double t); /* v of a cell not refractory */
void eds__xd_leave(eds_sim *sim, eds__pop *p);   /* back to v[j], t_last[j] (brought to now) */
int eds__xd_check(const eds_sim *sim, const eds__pop *p);

/* sources.c */
int eds__cmp_double(const void *a, const void *b); /* qsort order of doubles */
/* Draw k of the Philox4x64-10 stream keyed (seed, id): 64 random bits from block k / 4, lane
 * k % 4; the block is computed only when the one cached in (block, *block_k = its index + 1) is
 * another. */
uint64_t eds__philox_draw(uint64_t seed, uint32_t id, uint64_t k, uint64_t block[4],
                          uint64_t *block_k);
/* A draw as a uniform double in (0, 1), as numpy's Philox: (bits >> 11 + 1/2) 2^-53. */
static inline double eds__uniform(uint64_t bits)
{
    return ((double)(bits >> 11) + 0.5) * 0x1.0p-53;
}
/* Next spike of Poisson population p after `after`: its time (INFINITY: none) and source. */
int eds__poisson_next(eds_sim *sim, eds__pop *p, double after, double *t_next, uint32_t *local);
int eds__spikes_schedule(eds_sim *sim, eds__pop *p, uint32_t local);

/* record.c */
int eds__record_spike(eds_sim *sim, double t, uint32_t id);
int eds__sample(eds_sim *sim, uint32_t sampler, double t);
void eds__record_free(eds_sim *sim);

/* control.c: hooks of the run loop and of the synapse freeze */
int eds__control_before_run(eds_sim *sim);          /* first run: prepare; every run: commit */
int eds__control_frozen(eds_sim *sim, const uint64_t *pos_of_staged);
int eds__control_wants_positions(const eds_sim *sim);
void eds__control_free(eds_sim *sim);

/* sim.c: moves COND population p's epoch to t (its g scaled to it; see eds__pop) */
void eds__cond_rebase(eds__pop *p, double t);

/* sim.c helpers used by the other files: the 3 sampled values of neuron `local` at time t */
/* State of neuron `local` at t <= now; arrivals of a fused drive exactly at t count if inclusive. */
void eds__curr_epoch_reset(eds__pop *p, double t); /* CURR: every cell's epoch factors invalid */
int eds__state_at(const eds_sim *sim, const eds__pop *p, uint32_t local, double t, int inclusive,
                  double out[3]);

#endif
