"""Joining a running batch: no false alarms on clean data, detection power kept (issue 23, part 5).

The twin joins the emulated reactor 20–25 plant-minutes into a clean batch (the
leading samples dropped, as a live twin started late sees it). Before the join
handling, every such run raised CUSUM alarms within 5–10 min (8 alarm starts in
3 runs), while the same data replayed from t = 0 raised none: the catch-up left
the unmeasured amounts 10–30 % off with a covariance that claimed 0.1 %.

Bound of the statistical test: the shipped detectors are two-sided tabular CUSUMs
(k = 0.5, h = 10) on innovations standardised by the EKF's √S; if the filter is
consistent the in-control ARL per tag is about 7·10⁴ samples (Siegmund's
approximation, :func:`twin.cusum_arl_siegmund`; Montgomery 2013, §9.1.4), so the
false-alarm count over N tag-samples after the hold is Poisson with mean
``N / ARL``. The test fails when the observed count is improbable (p < 10⁻³)
under that Poisson law.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _reactor import binding as make_binding
from _reactor import need_fmu, plant
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from twin import DetectorBank, QualityFlag, Twin, cusum_arl_siegmund, open_trace
from twin._join import Settling
from twin.emulator import PlantEmulator
from twin.sources import MemorySource, ReplaySource
from workbench.errors import ConfigError

TAGS = 3  # measured tags of the shipped reactor binding


def _frames(seed: int, duration: str = "1 h", faults=()):
    return list(PlantEmulator(plant(duration=duration, seed=seed, faults=list(faults))).frames())


def _join_run(frames, at: float, trace=None, **overrides):
    """Run the shipped twin on ``frames`` from plant time ``at`` on (the leading samples dropped)."""
    twin = Twin(make_binding(**overrides), trace=trace)
    twin.run(MemorySource(f for f in frames if f.time >= at))
    return twin, twin.close()


# -- config ----------------------------------------------------------------------------------
def test_join_settings_defaults_and_bad_input_tag():
    need_fmu()
    b = make_binding()
    assert (
        b.join.when == "auto"
        and b.join.min_settle == b.join.settle == 600.0
        and b.join.window == 20
    )
    with pytest.raises(ConfigError) as err:
        make_binding(join={"input_std": {"TI_jacket_inn": 20.0}})
    msg = str(err.value)
    assert "TI_jacket_inn" in msg and "not an input tag" in msg and "TI_jacket_in" in msg
    with pytest.raises(ConfigError, match="input_std of 'FI_feed' must be >= 0"):
        make_binding(join={"input_std": {"FI_feed": -1.0}})
    with pytest.raises(ConfigError, match="when"):
        make_binding(join={"when": "sometimes"})


# -- the pieces ------------------------------------------------------------------------------
def test_held_detector_raises_limits_but_accumulates_nothing():
    bank = DetectorBank(
        ["a", "b"],
        sigma=np.array([1.0, np.nan]),
        limit=np.array([3.0, np.nan]),
        method=["cusum", "cusum"],
        warmup=5,
    )
    for k in range(10):  # a 2σ shift that would pass h = 5 in 4 samples
        bits = bank.update(float(k), np.array([2.0 if k else 4.0, 1.0]), hold=True)
        assert bits[0] == (1 if k == 0 else 0) and bits[1] == 0
    assert bank.statistic().max() == 0.0 and not bank.ready[1]  # no CUSUM sums, no σ warm-up
    assert [e.kind for e in bank.events] == ["limit"]
    for k in range(10, 20):
        bits = bank.update(float(k), np.array([2.0, 1.0]))
    assert bits[0] & 4 and bank.ready[1]  # released: the same shift alarms


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(10, 60),
    m=st.integers(1, 4),
    shift=st.floats(0.0, 5.0),
    col=st.integers(0, 3),
)
def test_window_test_passes_white_noise_and_fails_a_bias_beyond_its_bound(seed, n, m, shift, col):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, m))
    col %= m
    alpha = 0.01
    biased = z.copy()
    biased[:, col] += shift
    # a window mean beyond the Bonferroni normal bound is never consistent
    if abs(biased[:, col].sum()) / np.sqrt(n) > stats.norm.ppf(1 - alpha / (2 * m)):
        assert not Settling.consistent(biased, alpha)
    # nor is a sum of squares beyond the χ² bound
    if float(np.sum(biased**2)) > stats.chi2.ppf(1 - alpha, n * m):
        assert not Settling.consistent(biased, alpha)
    # NaN entries are left out; a window with none usable is not consistent
    assert not Settling.consistent(np.full((n, m), np.nan), alpha)
    holed = z.copy()
    holed[::2] = np.nan
    assert Settling.consistent(holed, alpha) == Settling.consistent(z[1::2], alpha)


def test_white_windows_pass_at_the_stated_rate():
    rng = np.random.default_rng(3)
    alpha = 0.01
    passed = np.mean(
        [Settling.consistent(rng.standard_normal((20, 3)), alpha) for _ in range(4000)]
    )
    # fails when either test rejects: at most alpha + alpha (union bound), and not much less than 1 - 2 alpha
    assert 1 - 2 * alpha - 0.01 <= passed <= 1 - alpha + 0.005, passed


def test_settling_ends_at_its_maximum_when_never_consistent():
    s = Settling(100.0, 2, window=5, alpha=0.01, max_time=60.0)
    t = 100.0
    while s.update(t, np.array([3.0, 0.0])):
        t += 10.0
    assert s.reason == "max" and s.released_at == 160.0 and not s.holding


def test_join_covariance_covers_the_true_state_error():
    """The catch-up covariance is consistent with the twin's actual error at the join; the old one was not."""
    for seed, join in ((1, 1200.0), (2, 1500.0)):
        emu = PlantEmulator(plant(duration="1 h", seed=seed))
        emu.run_until(join)
        out = {}
        for when in ("auto", "never"):
            twin = Twin(make_binding(**{"join.when": when}))
            twin.process(emu.frame())
            names = twin.model.state_names
            chem = [names.index(n) for n in ("nA", "nB", "nC", "nD")]
            err = (twin.model.state_vector - emu.model.read(names))[chem]
            P = twin.ekf.P[np.ix_(chem, chem)]
            out[when] = float(err @ np.linalg.solve(P, err))  # normalised estimation error squared
        bound = stats.chi2.ppf(0.999, len(chem))
        print(
            f"\njoin at {join:.0f} s, seed {seed}: NEES {out['auto']:.2f} (old covariance {out['never']:.3g}), "
            f"99.9 % bound {bound:.1f}"
        )
        assert out["auto"] < bound < out["never"]


# -- the symptom and its fix ------------------------------------------------------------------
def test_join_mid_batch_gives_no_alarm_and_flags_the_settling_in_the_trace(tmp_path):
    frames = _frames(1000)
    twin, before = _join_run(frames, 1200.0, **{"join.when": "never"})
    assert before.events  # the symptom: alarms on clean data within minutes of the join
    twin, report = _join_run(frames, 1200.0, trace=tmp_path / "j.zarr")
    assert not report.events, [e.as_dict() for e in report.events]
    assert report.joined_at == 1200.0 and report.settle_reason == "consistent"
    j = twin.binding.join
    assert 1200.0 + j.min_settle < report.settled_at <= 1200.0 + j.min_settle + j.settle
    ds = open_trace(tmp_path / "j.zarr")
    q = ds["quality"].values.astype(np.uint16)
    settling = (q & np.uint16(QualityFlag.SETTLING)) != 0
    t = ds["time"].values
    held = t <= report.settled_at  # the sample whose window passed was still held
    outputs = [t.tag for t in twin.binding.outputs]
    cols = [list(ds["tag"].values).index(name) for name in outputs]
    assert settling[np.ix_(held, cols)].all() and not settling[~held].any()
    assert not settling[:, : len(twin.binding.inputs)].any()
    assert report.quality["dimensions"] == dict.fromkeys(report.quality["dimensions"], 0)


def test_a_twin_started_at_batch_start_is_unchanged():
    frames = _frames(1000, "20 min")
    twin = Twin(make_binding())
    steps = [twin.process(f) for f in frames]
    report = twin.close()
    assert report.joined_at is None and report.settled_at is None
    assert all(not (s.quality & np.uint16(QualityFlag.SETTLING)).any() for s in steps)


def test_sensor_bias_after_settling_is_still_found():
    join = 1320.0
    bias_at = join + 1500.0  # 25 min after the join; the hold ends within 20 min
    for seed in (1001, 1002):
        frames = _frames(
            seed, faults=[{"kind": "bias", "tag": "TI_reactor", "at": bias_at, "value": 0.5}]
        )
        _, report = _join_run(frames, join)
        assert report.settled_at < bias_at
        assert all(e.start >= bias_at for e in report.events), [e.as_dict() for e in report.events]
        hit = [e for e in report.events if e.tag == "TI_reactor" and e.kind == "cusum"]
        assert (
            hit and hit[0].start - bias_at <= 30.0 and hit[0].direction == 1
        )  # as from t = 0 (3 samples)


def test_replay_block_path_keeps_the_hold(tmp_path):
    """Without state sync the replay runs in blocks; a join must still hold the detectors until settled."""
    frames = [f for f in _frames(1003, "40 min") if f.time >= 1200.0]
    path = tmp_path / "h.csv"
    pd.DataFrame(
        [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in frames]
    ).to_csv(path)
    reports = []
    for block in (True, False):
        b = make_binding(**{"sync.method": "none"})
        twin = Twin(b)
        twin.block_path = block
        twin.run(ReplaySource(path, units={t.tag: t.unit for t in b.tags}))
        reports.append(twin.close())
    blocks, frame_by_frame = reports
    assert frame_by_frame.joined_at == 1200.0 and frame_by_frame.settled_at is not None
    assert (blocks.settled_at, blocks.settle_reason) == (
        frame_by_frame.settled_at,
        frame_by_frame.settle_reason,
    )
    assert [e.as_dict() for e in blocks.events] == [e.as_dict() for e in frame_by_frame.events]


def test_reset_binding_estimates_then_hands_over_without_alarms():
    frames = _frames(1004, "1.2 h")
    _, before = _join_run(frames, 1200.0, **{"sync.method": "reset"}, **{"join.when": "never"})
    assert before.events
    twin, report = _join_run(frames, 1200.0, **{"sync.method": "reset"})
    assert not report.events, [e.as_dict() for e in report.events]
    assert twin.ekf is None and report.settled_at >= 1200.0 + twin.binding.join.estimate


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ekf", "reset"])
def test_joins_at_20_22_25_min_over_20_seeds_are_poisson_consistent(method):
    joins = (1200.0, 1320.0, 1500.0)
    seeds = range(2000, 2020)
    alarms, tag_samples, before = 0, 0, 0
    for seed in seeds:
        frames = _frames(seed, "1.2 h")
        for join in joins:
            _, report = _join_run(frames, join, **{"sync.method": method})
            alarms += len(report.events)
            assert report.settled_at is not None
            tag_samples += TAGS * sum(1 for f in frames if f.time > report.settled_at)
            if join == joins[0] and seed < seeds[0] + 3:
                before += len(
                    _join_run(frames, join, **{"sync.method": method}, **{"join.when": "never"})[
                        1
                    ].events
                )
    expected = tag_samples / cusum_arl_siegmund(0.5, 10.0)
    print(
        f"\n{method}: {len(seeds) * len(joins)} joins, {alarms} alarms after the hold over {tag_samples} "
        f"tag-samples, expected {expected:.2f} (Poisson); without the join handling: {before} alarms in 3 runs"
    )
    assert stats.poisson.sf(alarms - 1, expected) > 1e-3


@pytest.mark.opcua
def test_joining_the_emulator_mid_batch_over_opcua_on_virtual_time():
    """Smoke: a live twin joins the OPC UA emulator 20 min into a clean batch (virtual clock): no alarm."""
    from _synthetic import free_port

    from twin import ManualClock
    from twin.emulator import PlantServer
    from twin.sources import OpcUaSource

    url = f"opc.tcp://127.0.0.1:{free_port()}/twin/plant"
    sc = plant(duration="45 min", seed=1000)
    emu = PlantEmulator(sc)
    emu.run_until(1200.0)  # the batch has been running for 20 min when the twin connects
    clock = ManualClock(1.8e9)
    server = PlantServer(sc, endpoint=url, clock=clock, start_on_subscribe=True, plant=emu)
    server.start_thread()
    b = make_binding()
    twin = Twin(b)
    src = OpcUaSource(
        url,
        [t.tag for t in b.tags] + [b.batch_time_tag],
        period=b.sample_period,
        namespace=b.opcua.namespace,
        units={t.tag: t.unit for t in b.tags},
        publishing_interval=0.05,
        clock=clock,
        connect_timeout=120,
        data_timeout=60,
    )

    def until_done(step):
        if (
            server.plant.done
            and twin.report.samples + twin.report.rejected >= server.samples_published
        ):
            raise StopIteration

    try:
        try:
            twin.run(src, on_step=until_done)
        except StopIteration:
            pass
    finally:
        src.close()
        server.stop_thread()
    report = twin.close()
    assert report.joined_at is not None and report.joined_at >= 1200.0
    assert report.settled_at is not None and report.samples >= 100
    assert not report.events, [e.as_dict() for e in report.events]
