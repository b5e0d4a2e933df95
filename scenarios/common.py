"""What every scenario reports: the summary figures and the raster + rate plot."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np


def summarize(net, recs, duration: float, wall: float, build_wall: float | None = None) -> dict:
    """Size, activity, speed and memory of a run of the excitatory/inhibitory network ``recs``."""
    spikes_e, spikes_i = recs["exc"].spikes, recs["inh"].spikes
    n = spikes_e.n + spikes_i.n
    stats = net.stats()
    last = max(0.0, duration - 1000.0)
    cv = np.concatenate([spikes_e.cv_isi(), spikes_i.cv_isi()])
    n_spikes = len(spikes_e) + len(spikes_i)
    return {
        "neurons": n,
        "synapses": stats["n_synapses"],
        "spikes": n_spikes,
        "rate_hz": n_spikes / n / (duration / 1000.0),
        "rate_exc_hz": spikes_e.mean_rate(0.0, duration),
        "rate_inh_hz": spikes_i.mean_rate(0.0, duration),
        "rate_exc_last_s_hz": spikes_e.mean_rate(last, duration),
        "cv_isi_mean": float(cv.mean()) if cv.size else float("nan"),
        "duration_ms": duration,
        "build_s": build_wall if build_wall is not None else net.build_seconds,
        "wall_s": wall,
        "realtime_factor": wall / (duration / 1000.0),
        "synaptic_events": stats["n_synaptic_events"],
        "synaptic_events_per_s": stats["n_synaptic_events"] / wall if wall > 0 else float("nan"),
        "stale_events": stats["n_stale"],
        "queue_max": stats["heap_max"],
        "synapse_bytes": stats["bytes_synapses"],
        "bytes_per_synapse": stats["bytes_synapses"] / max(stats["n_synapses"], 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def plot(recs, duration: float, path: Path, title: str, bin_ms: float = 5.0) -> None:
    """Raster of the first 400 excitatory neurons above the population rate in ``bin_ms`` bins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = recs["exc"].spikes
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    show = s.i < 400
    ax1.plot(s.t[show], s.i[show], ",k")
    ax1.set_ylabel("excitatory neuron")
    ax1.set_title(f"{title}: first 400 excitatory neurons")
    bins = np.arange(0.0, duration + bin_ms, bin_ms)
    counts, _ = np.histogram(s.t, bins)
    ax2.plot(bins[:-1], counts / s.n / (bin_ms / 1000.0), "k-", lw=0.7)
    ax2.set_xlabel("time (ms)")
    ax2.set_ylabel("rate (Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
