"""Hotelling T² on the standardised residual vector (``detection.residual_t2``): statistic, limit, alarms."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _reactor import binding as make_binding
from _reactor import plant
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from twin import ResidualT2, Twin, residual_t2
from twin.emulator import PlantEmulator
from workbench.errors import ConfigError

finite = st.floats(-50, 50, allow_nan=False)


def _corr(a: np.ndarray) -> np.ndarray:
    """A well-conditioned correlation matrix from any square matrix."""
    c = a @ a.T + np.eye(len(a))
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda p: st.tuples(arrays(float, p, elements=finite),
                                                     arrays(float, (p, p), elements=st.floats(-3, 3)))))
def test_contributions_sum_to_t2_which_is_the_quadratic_form(args):
    z, a = args
    R = _corr(a)
    t2, q, c = residual_t2(z, R)
    expected = float(z @ np.linalg.solve(R, z))
    assert q == z.size
    assert t2 == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert c.sum() == pytest.approx(t2, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(c, z * np.linalg.solve(R, z), rtol=1e-9, atol=1e-8)  # Westerhuis et al. 2000


def test_identity_contributions_are_squares():
    t2, q, c = residual_t2(np.array([1.0, -2.0, 0.5]))
    assert (t2, q) == (5.25, 3)
    np.testing.assert_array_equal(c, [1.0, 4.0, 0.25])


def test_missing_residuals_use_the_sub_vector_and_its_dof():
    R = np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.3], [0.2, 0.3, 1.0]])
    z = np.array([1.0, np.nan, -2.0])
    t2, q, c = residual_t2(z, R)
    sub = R[np.ix_([0, 2], [0, 2])]
    assert q == 2
    assert t2 == pytest.approx(float(z[[0, 2]] @ np.linalg.solve(sub, z[[0, 2]])))
    assert c[1] == 0.0 and c.sum() == pytest.approx(t2)
    det = ResidualT2(["a", "b", "c"], alpha=0.01)
    det.update(0.0, z, R)
    assert det.limit == pytest.approx(9.2103, abs=1e-4)  # χ²_{2, 0.99}, Montgomery Appendix III
    assert det.update(10.0, np.full(3, np.nan)) is False and det.t2 == pytest.approx(t2)  # nothing to score


def test_chi2_limits():
    det = ResidualT2(["a", "b", "c"], alpha=0.001)
    np.testing.assert_allclose(det.limits[1:], [10.828, 13.816, 16.266], atol=1e-3)  # χ² table, α = 0.001
    np.testing.assert_allclose(det.limits[1:], stats.chi2.isf(0.001, [1, 2, 3]))


def test_singular_correlation_is_refused():
    with pytest.raises(ValueError, match="singular"):
        residual_t2(np.array([1.0, 1.0]), np.ones((2, 2)))


def test_alarm_min_run_deadband_and_event():
    det = ResidualT2(["a", "b"], alpha=0.01, min_run=2, clear=0.5)  # limit χ²_{2,0.99} = 9.21
    big = np.array([0.5, -4.0])  # T² 16.25
    assert not det.update(0.0, big)  # one sample above: not yet
    assert not det.update(1.0, np.zeros(2))  # the run is broken
    assert not det.update(2.0, big)
    assert det.update(3.0, 1.2 * big)  # second in a row: raised
    ev = det.active
    assert (ev.tag, ev.kind, ev.start, ev.direction, ev.unit) == ("b", "residual-t2", 3.0, -1, "1")
    assert det.update(4.0, np.array([0.0, 2.5]))  # T² 6.25 > 0.5 × 9.21: held by the deadband
    assert not det.update(5.0, np.array([0.0, 2.0]))  # 4 < 4.6: cleared
    assert ev.end == 5.0
    assert ev.magnitude == pytest.approx(float(((1.2 * big) ** 2).sum()) / det.limits[2])
    assert det.events == [ev]


def test_block_matches_per_row():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((600, 3))
    z[200:260, 1] += 3.0
    z[rng.random(z.shape) < 0.1] = np.nan
    z[50] = np.nan
    t = np.arange(600.0)
    a, b = ResidualT2(["x", "y", "w"], alpha=0.01, min_run=2), ResidualT2(["x", "y", "w"], alpha=0.01, min_run=2)
    rows = [a.update(t[i], z[i]) for i in range(600)]
    block = np.concatenate([b.update_block(t[:317], z[:317]), b.update_block(t[317:], z[317:])])
    np.testing.assert_array_equal(rows, block)
    assert [e.as_dict() for e in a.events] == [e.as_dict() for e in b.events]
    assert any(e.tag == "y" and 200 <= e.start < 260 for e in a.events)


def test_binding_config_default_off_and_validated():
    assert make_binding().detection.residual_t2.enabled is False
    b = make_binding(**{"detection.residual_t2": {"enabled": True, "alpha": 0.005, "min_run": 3}})
    rt = b.detection.residual_t2
    assert (rt.enabled, rt.alpha, rt.min_run) == (True, 0.005, 3)
    assert Twin(make_binding()).resid_t2 is None
    with pytest.raises(ConfigError, match="alpha"):
        make_binding(**{"detection.residual_t2": {"enabled": True, "alpha": 0.7}})
    with pytest.raises(ConfigError, match="alph"):
        make_binding(**{"detection.residual_t2": {"alph": 0.01}})


@pytest.mark.parametrize("sync", ["ekf", "none"])
def test_twin_raises_residual_t2_on_a_sensor_bias_into_the_alarm_log(tmp_path, sync):
    """Emulated reactor, +0.5 K bias on TI_reactor for 20 min: a residual-t2 event on that tag.

    ``ekf``: per-frame path, R from the filter's innovation covariance; ``none``: block path, R = I, σ.
    """
    faults = [{"kind": "bias", "tag": "TI_reactor", "at": "20 min", "until": "40 min",
               "value": 0.5 if sync == "ekf" else 3.0}]
    b = make_binding(**{"detection.residual_t2": {"enabled": True, "alpha": 0.001, "min_run": 2},
                        "sync.method": sync})
    twin = Twin(b, trace=tmp_path / "t.zarr")
    frames = PlantEmulator(plant(duration="50 min", seed=7, faults=faults))
    if sync == "none":
        import pandas as pd

        from twin.sources import ReplaySource

        rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in frames.frames()]
        pd.DataFrame(rows).to_csv(tmp_path / "h.csv", index=False)
        twin.run(ReplaySource(tmp_path / "h.csv", units={t.tag: t.unit for t in b.tags}))
        ref = Twin(b)  # the per-frame reference path gives the same alarms as the block path
        ref.block_path = False
        ref.run(ReplaySource(tmp_path / "h.csv", units={t.tag: t.unit for t in b.tags}))
        same = [e.as_dict() for e in ref.close().events if e.kind == "residual-t2"]
        assert same == [e.as_dict() for e in twin.resid_t2.events]
    else:
        for f in frames.frames():
            twin.process(f)
    report = twin.close()
    t2 = [e for e in report.events if e.kind == "residual-t2"]
    during = [e for e in t2 if 20 * 60 <= e.start <= 40 * 60]
    assert during and during[0].tag == "TI_reactor" and during[0].direction == 1 and during[0].magnitude > 1
    assert all(e.end is not None for e in t2)
    logged = [json.loads(line) for line in (tmp_path / "t.zarr" / "events.jsonl").read_text().splitlines()]
    assert {(e["start"], e["tag"]) for e in logged if e["kind"] == "residual-t2"} == {(e.start, e.tag) for e in t2}


def test_reference_window_estimates_mean_and_covariance_then_scores_about_them():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((40, 3)) + [1.0, 0.0, -1.0]
    z[3, 1] = np.nan  # an incomplete sample is not part of the reference
    det = ResidualT2(["a", "b", "c"], alpha=0.01, reference=30)
    assert not any(det.update(float(i), z[i]) for i in range(31))  # no alarm while learning
    ref = np.delete(z[:31], 3, axis=0)
    np.testing.assert_allclose(det.center, ref.mean(axis=0))
    np.testing.assert_allclose(det.cov, np.cov(ref, rowvar=False))
    x = np.array([1.5, 0.2, -0.4])
    det.update(31.0, x)
    d = x - det.center
    assert det.t2 == pytest.approx(float(d @ np.linalg.solve(det.cov, d)))
    m, q = 30, 3  # Tracy, Young & Mason 1992 Phase II limit, above the χ² one for a small reference
    assert det.limit == pytest.approx(q * (m + 1) * (m - 1) / (m * m - m * q) * stats.f.ppf(0.99, q, m - q))
    assert det.limit > stats.chi2.ppf(0.99, q)
    blk = ResidualT2(["a", "b", "c"], alpha=0.01, reference=30)
    blk.update_block(np.arange(32.0), np.vstack([z[:31], x]))
    assert blk.t2 == det.t2 and blk.limit == det.limit


def test_reference_too_short_is_a_config_error():
    with pytest.raises(ConfigError, match=r"detection\.residual_t2\.reference: reference must be more than tags \+ 1"):
        Twin(make_binding(**{"detection.residual_t2": {"enabled": True, "reference": 3}}))
