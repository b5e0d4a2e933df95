/* edsim C core: public API.
 *
 * Everything hangs off one opaque handle (eds_sim); there is no global state, so simulations are
 * independent. Every fallible function returns an eds_status and writes results through
 * out-pointers; free functions accept NULL. Times are double milliseconds; ids are the global
 * neuron ids handed out by the eds_sim_add_* functions, contiguous per population.
 *
 * This header is fed to cffi after preprocessing (cc -E -P -DEDS_CDEF), so it keeps to plain
 * declarations; the status enum is generated from status.def.
 */
#ifndef EDSIM_H
#define EDSIM_H

#ifndef EDS_CDEF
#include <stddef.h>
#include <stdint.h>
#endif

typedef enum {
#define EDS_STATUS(name, msg) EDS_##name,
#include "status.def"
#undef EDS_STATUS
    EDS_N_STATUS
} eds_status;

const char *eds_status_name(int status);
const char *eds_status_message(int status);

/* Event kinds. The queue orders events by (time, rank, sequence number); the rank of a kind is its
 * value below, so at equal times predicted firings come first, then source spikes, ends of
 * refractory periods, deliveries, firings caused by this instant's voltage jumps (once all of the
 * instant's inputs are in: simultaneous jumps act as their sum, as in NEST and Brian2), samples
 * and prediction re-checks. The sequence number counts pushes, so
 * equal (time, rank) events pop in insertion order. */
typedef enum {
    EDS_EV_FIRE = 0,        /* predicted threshold crossing; stale if the generation changed */
    EDS_EV_EMIT = 1,        /* spike of a source (spike times or Poisson) */
    EDS_EV_REFRAC_END = 2,  /* end of the refractory period */
    EDS_EV_STEP = 3,        /* end of one fixed step of a time-driven population */
    EDS_EV_DELIVER = 4,     /* arrival of one spike over one distinct delay */
    EDS_EV_JUMP_FIRE = 5,   /* threshold reached by a voltage jump at this instant */
    EDS_EV_SAMPLE = 6,      /* state sample of one sampler */
    EDS_EV_RECHECK = 7,     /* prediction horizon reached: predict again */
    EDS_N_EVENT_KINDS
} eds_event_kind;

/* ---- lookup table of IF_cond_exp (see tables/README.md and edsim/tables/cond_exp.py) ---- */

typedef struct {
    /* Model parameters, PyNN names and units: nF, ms, mV, nA. */
    double cm, tau_m, v_rest, v_thresh, v_reset, tau_refrac;
    double tau_syn_e, tau_syn_i, e_rev_e, e_rev_i, i_offset;
    /* Float-exponent axes (e0, mantissa bits m, node count n) of ge0 (uS), gi0 (uS), t (ms). */
    int32_t ge_e0, ge_m, ge_n, gi_e0, gi_m, gi_n, t_e0, t_m, t_n;
    /* q[ge][gi][t]: forced response (mV); reach[ge][gi][t]: running max of reachable distance
     * below threshold (mV). Borrowed: they must outlive the lut. */
    const double *q;
    const float *reach;
    uint64_t q_len, reach_len;
    double reach_margin;    /* mV added to reach bounds before rejecting a crossing */
} eds_cond_table;

typedef struct eds_cond_lut eds_cond_lut;

int eds_cond_lut_new(const eds_cond_table *table, eds_cond_lut **out);
void eds_cond_lut_free(eds_cond_lut *lut);
/* State after dt >= 0 ms without input or refractoriness, from (v0, ge0, gi0). */
int eds_cond_lut_advance(const eds_cond_lut *lut, double v0, double ge0, double gi0, double dt,
                         double *v, double *ge, double *gi);
/* Time from now until v reaches v_thresh without further input. *when is INFINITY if it never
 * does; if it might after the table's horizon, *when is the horizon and *recheck is 1. */
int eds_cond_lut_predict(const eds_cond_lut *lut, double v0, double ge0, double gi0,
                         double *when, int *recheck);
double eds_cond_lut_horizon(const eds_cond_lut *lut);

/* ---- lookup table of a model declared by its equations (edsim/equations.py, tables/README.md) -
 * State (v, s1, s2): s1 the excitatory and s2 the optional inhibitory synaptic variable, each
 * decaying as s0 exp(-t / tau). v(t) from (v0, s1_0, s2_0) is tabulated; dv/dt = F(v, s1, s2) is
 * tabulated on the (v, s1, s2) grid for the Hermite slopes. */

typedef struct {
    double v_thresh, v_reset, tau_refrac;   /* mV, mV, ms */
    double v_init;                          /* potential of new neurons (mV) */
    double tau_s1, tau_s2;                  /* decay time constants (ms); any > 0 if absent */
    /* Uniform axes. v0: v_n nodes from v_lo to v_thresh, step (v_thresh - v_lo) / (v_n - 1).
     * F's v axis has the same step and f_below (f_above) more nodes below v_lo (above v_thresh).
     * s axes: s_n nodes from s_lo to s_hi; s_n == 1 means the variable is absent (lo = hi = 0). */
    double v_lo;
    int32_t v_n, f_below, f_above;
    double s1_lo, s1_hi, s2_lo, s2_hi;
    int32_t s1_n, s2_n;
    /* Float-exponent time axis (e0, mantissa bits m, node count n), as for eds_cond_table. */
    int32_t t_e0, t_m, t_n;
    /* v[v0][s1][t][s2] (mV); f[v][s1][s2] (mV/ms) on F's v axis; reach[s1][s2][t]: the lowest v0
     * from which v reaches v_thresh by t (mV, running minimum over time; at the last node also
     * after it, without input; -inf disables the bound). Borrowed: they must outlive the lut. */
    const double *v;
    const double *f;
    const float *reach;
    /* clean[jv][j1][j2]: for starts interpolated on the stencil whose first nodes are (jv, j1,
     * j2) (jv < v_n - 3; j < s_n - 3, or 0 if absent), the number of leading time nodes over which
     * the interpolation is within the table's tolerance; past them a trajectory is continued
     * from its state at the last clean node (re-anchored on a new stencil). In [1, t_n]. */
    const int32_t *clean;
    uint64_t v_len, f_len, reach_len, clean_len;
    double reach_margin;    /* mV subtracted from reach bounds before rejecting a crossing */
    double v_block;         /* without input, v > v_block fires eventually (-inf: always, >=
                             * v_thresh: never); decides re-predictions at the horizon */
    double rk4_fraction;    /* states outside the table: RK4 step = this / |dF/dv| */
    double rk4_span;        /* ... integrated over at most this many ms (> 0) before the state
                             * is looked up again */
} eds_gen_table;

typedef struct eds_gen_lut eds_gen_lut;

int eds_gen_lut_new(const eds_gen_table *table, eds_gen_lut **out);
void eds_gen_lut_free(eds_gen_lut *lut);
/* State after dt >= 0 ms without input or refractoriness, from (v0, s1, s2). */
int eds_gen_lut_advance(const eds_gen_lut *lut, double v0, double s1, double s2, double dt,
                        double *v, double *s1_out, double *s2_out);
/* As eds_cond_lut_predict. */
int eds_gen_lut_predict(const eds_gen_lut *lut, double v0, double s1, double s2, double *when,
                        int *recheck);
double eds_gen_lut_horizon(const eds_gen_lut *lut);
/* dv/dt (mV/ms) of the tabulated equation at (v, s1, s2), as the engine interpolates it. */
int eds_gen_lut_dv_dt(const eds_gen_lut *lut, double v, double s1, double s2, double *out);
/* 1 if (v, s1, s2) lies inside the table (no numerical fallback), else 0. */
int eds_gen_lut_in_table(const eds_gen_lut *lut, double v, double s1, double s2);

/* ---- exactly solvable models: PyNN's IF_curr_exp and IF_curr_delta ---- */

typedef struct {
    /* nF, ms, mV, mV, mV, ms, ms, ms, nA. IF_curr_delta ignores tau_syn_e and tau_syn_i. */
    double cm, tau_m, v_rest, v_thresh, v_reset, tau_refrac, tau_syn_e, tau_syn_i, i_offset;
} eds_curr_params;

/* ---- time-driven models ---- */

typedef enum {
    EDS_CLOCK_LIF_COND = 0,     /* IF_cond_exp integrated at a fixed step */
    EDS_CLOCK_HH_COND = 1,      /* HH_cond_exp: Traub-Miles Hodgkin-Huxley, conductance synapses */
    EDS_CLOCK_IZHIKEVICH = 2,   /* Izhikevich (2003), inputs jump v */
    EDS_CLOCK_ADEX_COND = 3,    /* EIF_cond_exp_isfa_ista (AdEx), conductance synapses */
    EDS_CLOCK_FHN = 4,          /* FitzHugh-Nagumo, dimensionless, inputs jump v */
    EDS_CLOCK_HR = 5,           /* Hindmarsh-Rose, dimensionless, inputs jump x */
    EDS_CLOCK_LIF_CURR = 6,     /* IF_curr_exp stepped at a fixed step (exact propagator) */
    EDS_CLOCK_LIF_DELTA = 7,    /* IF_curr_delta stepped at a fixed step (exact propagator) */
    EDS_N_CLOCK_MODELS
} eds_clock_model;

/* Number of parameters and of state variables of a time-driven model. */
int eds_clock_model_info(int model, uint32_t *n_params, uint32_t *n_state);

/* ---- simulation ---- */

typedef struct eds_sim eds_sim;

#define EDS_MAX_POISSON_RATE 1e6

typedef struct {
    uint64_t n_events;          /* events popped */
    uint64_t n_stale;           /* stale firing/recheck events dropped */
    uint64_t n_spikes;          /* neuron firings */
    uint64_t n_source_spikes;   /* spikes of sources */
    uint64_t n_synaptic_events; /* synapse activations */
    uint64_t n_predictions;     /* full firing-time searches */
    uint64_t n_deferred;        /* cond_exp predictions deferred to a bound of the crossing and
                                   made there (that event is not counted in n_events) */
    uint64_t n_rejects;         /* predictions settled by the O(1) "cannot fire" bound */
    uint64_t n_fallback;        /* updates outside the table range, integrated numerically */
    uint64_t heap_max;          /* largest queue size seen */
    uint64_t heap_size;
    uint64_t n_synapses;
    uint64_t n_delay_groups;
    uint64_t n_fused_sources;   /* Poisson sources fused into their neuron (no event per spike) */
    uint64_t bytes_synapses;    /* bytes held by the synapse tables */
    uint64_t bytes_neurons;     /* bytes held by neuron state */
} eds_stats;

int eds_sim_new(uint64_t seed, eds_sim **out);
void eds_sim_free(eds_sim *sim);
double eds_sim_now(const eds_sim *sim);
uint32_t eds_sim_n_ids(const eds_sim *sim);
int eds_sim_stats(const eds_sim *sim, eds_stats *out);

int eds_sim_add_cond_exp(eds_sim *sim, const eds_cond_lut *lut, uint32_t n, uint32_t *first_id);
/* n neurons of a model declared by its equations, from its table (borrowed: outlives the sim). */
int eds_sim_add_gen(eds_sim *sim, const eds_gen_lut *lut, uint32_t n, uint32_t *first_id);
int eds_sim_add_curr_exp(eds_sim *sim, const eds_curr_params *params, uint32_t n,
                         uint32_t *first_id);
int eds_sim_add_curr_delta(eds_sim *sim, const eds_curr_params *params, uint32_t n,
                           uint32_t *first_id);
/* n neurons of a time-driven model stepped every dt ms from now; params per eds_clock_model_info.
 * A step is integrated when it ends, splitting it at the exact arrival times of its inputs; spike
 * times are interpolated within the step. Hence every synapse from a time-driven population needs
 * delay >= dt (EDS_INVALID otherwise), as in NEST. */
int eds_sim_add_clock(eds_sim *sim, int model, uint32_t n, double dt, const double *params,
                      uint32_t n_params, uint32_t *first_id);
int eds_sim_add_spike_source(eds_sim *sim, uint32_t n, uint32_t *first_id);
/* Rate in Hz (at most EDS_MAX_POISSON_RATE, so that time always advances between spikes), active
 * during [start, stop) ms; one independent random stream per source id. */
int eds_sim_add_poisson(eds_sim *sim, uint32_t n, double rate_hz, double start, double stop,
                        uint32_t *first_id);
/* Adds spikes (sorted or not, each >= now) to spike source `id`. */
int eds_sim_add_spike_times(eds_sim *sim, uint32_t id, const double *times, size_t n);

/* Appends n synapses. receptor: 0 excitatory, 1 inhibitory; delay > 0 (ms). weight: >= 0 onto
 * conductance-based targets (uS), any finite value onto current-based ones (nA, or mV for
 * IF_curr_delta). Connectivity is frozen by the first run. */
int eds_sim_add_synapses(eds_sim *sim, size_t n, const uint32_t *pre, const uint32_t *post,
                         const float *weight, const double *delay, const uint8_t *receptor);

/* State (v, synaptic variable 1, synaptic variable 2) of event-driven neurons [first, first + n)
 * of one population at the current time: (v, ge, gi) for IF_cond_exp, (v, ie, ii) for
 * IF_curr_exp, (v, 0, 0) for IF_curr_delta. set cancels refractoriness and re-predicts firing. */
int eds_sim_set_state(eds_sim *sim, uint32_t first, uint32_t n, const double *v, const double *s1,
                      const double *s2);
int eds_sim_get_state(const eds_sim *sim, uint32_t first, uint32_t n, double *v, double *s1,
                      double *s2);
/* Full state of time-driven neurons, n * n_state values, neuron-major, at their last step. */
int eds_sim_set_clock_state(eds_sim *sim, uint32_t first, uint32_t n, const double *x);
int eds_sim_get_clock_state(const eds_sim *sim, uint32_t first, uint32_t n, double *x);

int eds_sim_record_spikes(eds_sim *sim, uint32_t first, uint32_t n, int on);
/* Spikes recorded since the last drain, in event order. Drains up to cap, *n_out says how many. */
int eds_sim_spikes_pending(const eds_sim *sim, uint64_t *n);
int eds_sim_drain_spikes(eds_sim *sim, double *t, uint32_t *id, uint64_t cap, uint64_t *n_out);

/* Samples 3 values per neuron of `ids` every `interval` ms from `start` (>= now): the state of
 * event-driven neurons as eds_sim_get_state gives it, or the model's (v, s1, s2) projection of a
 * time-driven neuron's state at its step boundary. */
int eds_sim_add_sampler(eds_sim *sim, const uint32_t *ids, uint32_t n, double start,
                        double interval, uint32_t *sampler);
int eds_sim_samples_pending(const eds_sim *sim, uint32_t sampler, uint64_t *rows);
/* Rows of n ids each: t[row], values[row][id][3]. */
int eds_sim_drain_samples(eds_sim *sim, uint32_t sampler, double *t, double *values,
                          uint64_t cap_rows, uint64_t *rows_out);

/* Freezes the connectivity (synapses sorted into delay groups, delay lines made). The first run
 * does it if not done; calling it first keeps that work out of the run's timing. Idempotent. */
int eds_sim_prepare(eds_sim *sim);

/* Processes every event with time < until, then sets now = until. Callable repeatedly. */
int eds_sim_run(eds_sim *sim, double until);

/* Counter-based random numbers: Philox4x64-10 block for (counter, key). Exposed for tests. */
void eds_philox4x64(const uint64_t ctr[4], const uint64_t key[2], uint64_t out[4]);

/* Debug check of the queue invariant (heap order); returns EDS_OK or EDS_STATE. */
int eds_sim_check_queue(const eds_sim *sim);

/* ---- closed loop (control.c) ---- */

/* Stages n spikes, times[k] (ms, finite, >= now) for spike source ids[k], validating every pair
 * before staging any. Nothing is scheduled until the next eds_sim_run, which first hands the
 * staged spikes to the queue source by source, ordered by (the source's last emission, id): so
 * any sequence of inject calls between two runs acts as one call, and injecting before each step
 * the spikes that fall inside it gives the same spikes, bit for bit, as one run with them all
 * given up front (see control.c for the exact rule). */
int eds_sim_inject(eds_sim *sim, size_t n, const uint32_t *ids, const double *times);

/* Parameters of a whole population, `first` being its first id (EDS_INVALID for any other id or
 * kind). Neurons are brought to now under the old parameters, then predicted again under the new;
 * a neuron refractory now keeps the end of its refractory period and is released at the new
 * v_reset. IF_curr_exp / IF_curr_delta: every parameter. IF_cond_exp: another table (borrowed:
 * it must outlive the simulation). Any event-driven population: v_reset (< v_thresh, mV) and
 * tau_refrac (>= 0 ms). Time-driven: the model's parameter vector, from the step under way. */
int eds_sim_set_curr_params(eds_sim *sim, uint32_t first, const eds_curr_params *params);
int eds_sim_set_cond_lut(eds_sim *sim, uint32_t first, const eds_cond_lut *lut);
int eds_sim_set_reset(eds_sim *sim, uint32_t first, double v_reset, double tau_refrac);
int eds_sim_set_clock_params(eds_sim *sim, uint32_t first, const double *params,
                             uint32_t n_params);

/* Tracks staged synapses [first, first + n) (indices in the order of eds_sim_add_synapses calls),
 * before the first run, so that their weights can be read and changed by edge (0 .. n-1) later;
 * costs 8 bytes per tracked synapse once frozen. edges NULL means every edge in order (n must be
 * the track's size). set validates every weight (finite; >= 0 onto IF_cond_exp) before changing
 * any; a change acts on every delivery processed after the call, spikes in flight included. */
int eds_sim_track_synapses(eds_sim *sim, uint64_t first, uint64_t n, uint32_t *track);
int eds_sim_get_weights(const eds_sim *sim, uint32_t track, uint64_t n, const uint64_t *edges,
                        float *weights);
int eds_sim_set_weights(eds_sim *sim, uint32_t track, uint64_t n, const uint64_t *edges,
                        const float *weights);

/* Shedding, which never changes the simulation. Shed spike recording of ids [first, first + n)
 * (those recorded) counts their spikes instead of storing them; shed = 0 records them again. A
 * paused sampler lets its sample times pass without computing them, counting the rows skipped. */
int eds_sim_shed_recording(eds_sim *sim, uint32_t first, uint32_t n, int shed);
int eds_sim_pause_sampler(eds_sim *sim, uint32_t sampler, int paused);
int eds_sim_shed_counts(const eds_sim *sim, uint64_t *spikes_not_recorded,
                        uint64_t *sample_rows_skipped);
int eds_sim_sampler_skipped(const eds_sim *sim, uint32_t sampler, uint64_t *rows);

#endif
