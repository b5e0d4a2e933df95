"""The virtual insect scenario (scenarios/insect.py): world, coding, steering, closed loop.

Hand-computed values for the odour field and the antennae; the rate code against its formula and
its Poisson counts; determinism; the sign of steering; short closed-loop trials in a reduced arena
where the network insect must beat the random walk; the command line end to end.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scenarios"))
import insect  # noqa: E402

# A half-size world for short trials: odour reaching across it as the full arena's does.
SMALL = insect.Arena(size=0.5, food=((0.35, 0.3),), decay_length=0.125, min_start_distance=0.25)


def test_odour_is_exponential_in_distance_over_the_background():
    arena = insect.Arena(food=((0.5, 0.5),), decay_length=0.25, background=0.02)
    c = arena.concentration([[0.5, 0.5], [0.75, 0.5], [0.5, 0.0], [0.8, 0.9]])
    expected = [1.02, math.exp(-1.0) + 0.02, math.exp(-2.0) + 0.02, math.exp(-2.0) + 0.02]
    np.testing.assert_allclose(c, expected, rtol=1e-12)


def test_odour_of_two_sources_adds():
    arena = insect.Arena(food=((0.2, 0.5), (0.8, 0.5)), decay_length=0.3, background=0.01)
    c = arena.concentration([0.5, 0.5])
    assert c == pytest.approx(2.0 * math.exp(-1.0) + 0.01, rel=1e-12)
    assert arena.food_distance(0.5, 0.9) == pytest.approx(0.5)


def test_antennae_sit_at_plus_and_minus_the_angle_ahead():
    body = insect.Body(antenna_length=0.04, antenna_angle=45.0)
    h = 0.04 / math.sqrt(2.0)
    np.testing.assert_allclose(body.antennae(0.0, 0.0, 0.0), [[h, h], [h, -h]], atol=1e-15)
    # facing +y, the left antenna is towards -x
    np.testing.assert_allclose(body.antennae(0.3, 0.2, math.pi / 2),
                               [[0.3 - h, 0.2 + h], [0.3 + h, 0.2 + h]], atol=1e-15)


def test_differential_drive_turns_towards_the_slower_leg():
    body = insect.Body(axle=0.02)
    x, y, heading, step = body.move(0.0, 0.0, 0.0, 0.04, 0.06, 0.1)
    assert step == pytest.approx(0.005)
    assert heading == pytest.approx(0.1)             # (0.06 - 0.04) / 0.02 rad/s for 0.1 s
    assert (x, y) == pytest.approx((0.005 * math.cos(0.05), 0.005 * math.sin(0.05)))


def test_walls_reflect_position_and_heading():
    arena = insect.Arena()
    x, y, heading = arena.reflect(-0.01, 0.5, math.pi - 0.3)
    assert (x, y, heading) == pytest.approx((0.01, 0.5, 0.3))
    x, y, heading = arena.reflect(0.5, 1.02, 1.0)
    assert (x, y, heading) == pytest.approx((0.5, 0.98, -1.0))


def test_rate_code_is_logarithmic_between_its_bounds():
    coding = insect.Coding(r_spont=10.0, r_max=110.0, c_lo=0.02, c_hi=1.0)
    mid = math.sqrt(0.02 * 1.0)
    np.testing.assert_allclose(coding.rate([0.001, 0.02, mid, 1.0, 5.0]),
                               [10.0, 10.0, 60.0, 110.0, 110.0])


def test_rate_coder_fires_at_the_stated_rate():
    coding = insect.Coding(n=30)
    rng = np.random.default_rng(7)
    n_slots, slot, rate = 400, 5.0, 80.0
    total = 0
    for k in range(n_slots):
        t, i = coding.spikes(rng, rate, k * slot, slot)
        assert np.all((t >= k * slot) & (t < (k + 1) * slot)) and np.all(np.diff(t) >= 0)
        assert np.all((i >= 0) & (i < coding.n))
        total += t.size
    expected = rate * coding.n * n_slots * slot / 1000.0    # 4800 spikes
    assert abs(total - expected) < 4.0 * math.sqrt(expected)


def test_same_seed_gives_the_same_trajectory():
    a, _ = insect.run_trial(3, arena=SMALL, duration=1.5)
    b, _ = insect.run_trial(3, arena=SMALL, duration=1.5)
    c, _ = insect.run_trial(4, arena=SMALL, duration=1.5)
    np.testing.assert_array_equal(a.path, b.path)
    assert not np.array_equal(a.path[-1], c.path[-1])


@pytest.mark.parametrize("stronger", ["left", "right"])
def test_network_steers_towards_the_stronger_side(stronger):
    """Odour stronger at one antenna for 0.5 s turns the insect towards that side."""
    brain = insect.Brain(1, insect.Coding(), insect.Wiring(), insect.Motor())
    body, rng = insect.Body(), np.random.default_rng(0)
    conc = np.array([0.4, 0.1]) if stronger == "left" else np.array([0.1, 0.4])
    x = y = heading = 0.0
    for _ in range(100):
        v_left, v_right = brain.step(rng, conc)
        x, y, heading, _ = body.move(x, y, heading, v_left, v_right, 0.005)
    assert heading > 0.5 if stronger == "left" else heading < -0.5   # rad, counter-clockwise


def test_network_insect_finds_food_more_often_than_the_random_walk():
    seeds = range(1, 6)
    network = [insect.run_trial(s, arena=SMALL, duration=8.0)[0] for s in seeds]
    control = [insect.run_trial(s, "random", arena=SMALL, duration=8.0)[0] for s in seeds]
    n_net, n_ctrl = sum(t.reached for t in network), sum(t.reached for t in control)
    assert n_net >= 4 and n_net > n_ctrl
    for t in network:
        if t.reached:
            assert SMALL.food_distance(*t.path[-1]) <= SMALL.food_radius
            assert t.path_length >= SMALL.min_start_distance - SMALL.food_radius


def test_scenario_command_writes_plot_summary_and_pacing(tmp_path, capsys):
    summary = insect.main(["--seed", "2", "--duration", "1", "--realtime", "--speed", "20",
                           "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert "network insect" in out and "random walk" in out and "missed deadlines" in out
    assert (tmp_path / "insect.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "insect_summary.json").read_text())
    assert saved["network"]["trials"] == summary["network"]["trials"] == 1
    assert saved["pacing"]["slots"] == 200
    import edsim

    assert edsim.load(tmp_path / "insect_motor_left.h5").size == insect.Wiring().n_motor


def test_edsim_run_finds_the_scenario(tmp_path, capsys, monkeypatch):
    from edsim import cli

    monkeypatch.setattr(sys, "argv", list(sys.argv))   # `edsim run` rewrites sys.argv

    assert cli.main(["run", "insect", "--duration", "0.5", "--control", "none",
                     "--out", str(tmp_path), "--quiet"]) == 0
    assert "network insect" in capsys.readouterr().out
    assert (tmp_path / "insect.png").exists()
