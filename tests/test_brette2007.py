"""The Brette et al. (2007) benchmark scenarios against the published simulators' figures.

Benchmark 1 (COBA):

Reference figures (shared/BENCHMARKS.md, 10 s runs, 3 seeds): NEST 3.10 on the NEST variant that
scenarios/coba.py implements (fixed in-degree 64 + 16, delay 0.1 ms, 300 Hz kick): 14.6-19.7 Hz,
CV of ISIs about 1.5; Brian2 2.9 on its own variant: 18-21 Hz, CV 1.5-1.9. Whether activity
self-sustains depends on the draw (one of four seeds fell silent in both simulators), so the rate
is checked over the last second of a run that stays active, and the band admits both peers'
ranges with the seed-to-seed spread they showed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scenarios"))
import coba  # noqa: E402
import cuba  # noqa: E402
import event_driven_cuba  # noqa: E402


@pytest.fixture(scope="module")
def coba_run():
    net, recs = coba.build(seed=coba.BENCHMARK.default_seed)  # seed 1 falls silent (see coba.py)
    net.run(3000.0)
    return net, recs


def test_coba_rate_and_cv_lie_in_the_published_range(coba_run):
    net, recs = coba_run
    spikes = recs["exc"].spikes
    last_second = spikes.mean_rate(2000.0, 3000.0)
    assert 10.0 <= last_second <= 25.0
    cv = np.concatenate([recs["exc"].spikes.cv_isi(), recs["inh"].spikes.cv_isi()])
    assert 1.0 <= cv.mean() <= 2.2


def test_coba_static_synapses_fit_in_12_bytes(coba_run):
    net, _ = coba_run
    s = net.stats()
    assert 300_000 < s["n_synapses"] < 340_000
    assert s["bytes_synapses"] / s["n_synapses"] <= 12.0


def test_coba_stays_inside_the_table_range(coba_run):
    """The default table covers the conductances this network visits (no slow fallback)."""
    net, _ = coba_run
    s = net.stats()
    assert s["n_fallback"] <= 1e-4 * s["n_synaptic_events"]


def test_scenario_command_writes_spikes_plot_and_summary(tmp_path, capsys):
    summary = coba.main(["--duration", "200", "--scale", "0.25", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert "rate_hz" in out and "synaptic_events_per_s" in out
    assert (tmp_path / "coba.png").stat().st_size > 1000
    assert json.loads((tmp_path / "coba_summary.json").read_text())["neurons"] == summary["neurons"]
    import edsim

    back = edsim.load(tmp_path / "coba_exc.h5")
    assert back.size == 800 and len(back.spikes) == summary["spikes"] - len(
        edsim.load(tmp_path / "coba_inh.h5").spikes)


def _rate_and_cv(module, seed=1, duration=3000.0):
    net, recs = module.build(seed=seed)
    net.run(duration)
    spikes = [recs["exc"].spikes, recs["inh"].spikes]
    rate = sum(s.mean_rate(duration - 2000.0, duration) * s.n for s in spikes) / sum(s.n for s in spikes)
    cv = np.concatenate([s.cv_isi() for s in spikes]).mean()
    return rate, cv


def test_voltage_jump_network_matches_nest_and_brian():
    """Benchmark 4, the cleanest cross-check: NEST 3.10 (precise spike times) 9.55 Hz, CV 0.51;
    Brian2 (0.1 ms grid) 9.7 Hz, CV 0.52; the two agree to about 2 % (shared/BENCHMARKS.md)."""
    rate, cv = _rate_and_cv(event_driven_cuba)
    assert abs(rate - 9.55) / 9.55 < 0.04
    assert 0.42 <= cv <= 0.58


def test_cuba_rate_and_cv_lie_in_the_published_range():
    """Benchmark 2 with the published -90 pA inhibition: Brian2 5.5-5.8 Hz, CV 0.5-0.7; NEST
    5.8 Hz, CV 0.5. Here ~5.2 Hz, CV ~0.7; an independent clock-driven integration of the same
    equations and connectivity rule (exact propagators, 0.1 ms grid, numpy) gave 5.2 Hz too, so
    the band is set by that spread: 4.5-6.5 Hz, CV 0.4-0.85."""
    rate, cv = _rate_and_cv(cuba)
    assert 4.5 <= rate <= 6.5
    assert 0.4 <= cv <= 0.85


def test_coba_hh_sustains_the_rate_of_an_independent_integration():
    """Benchmark 3. Brian2 (its own variant, exponential Euler, 0.1 ms) reports ~38 Hz over 2 s;
    an independent numpy integration of this scenario's variant (fixed in-degree, exponential
    Euler at 0.1 ms, same cells and synapses) sustained 29 Hz. A run that fell silent or blew up
    (as plain RK4 at 0.1 ms did) fails this band."""
    import coba_hh

    net, recs = coba_hh.build(seed=1)
    net.run(400.0)
    spikes = recs["exc"].spikes
    assert 20.0 <= spikes.mean_rate(200.0, 400.0) <= 45.0
    v = net.populations[0].state()["v"]
    assert np.all(np.isfinite(v))
