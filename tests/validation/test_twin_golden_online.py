"""Golden-batch scoring on the live path (a replay through the twin, trace store round trip) equals the
off-line model on the same data.

The running batch is sampled on the model's grid (elapsed-time alignment), so the off-line alignment
(:meth:`golden_batch.GoldenBatchModel.align`) reproduces the samples and grid point k of the off-line
result is sample k of the live run. Expectations, computed independently of the on-line session:

* T², SPE and the predicted quality: :meth:`GoldenBatchModel.monitor_aligned` (vectorised over the
  batch; trimmed score regression, Nomikos & MacGregor 1995; Arteaga & Ferrer 2002);
* contributions: from the fitted MPCA's public attributes, written out here, with
  ``z_k = (x_k − μ_k)/s_k``, ``t*_k = Σ_{i≤k} z_i P_i``, ``t̂_k = t*_k M_k`` (the TSR map),
  ``w = C_k⁻¹ t̂_k``: T² contribution ``z_k ⊙ (P_k w)`` and SPE contribution ``(z_k − P_k t̂_k)²``
  (Westerhuis, Gurden & Smilde 2000), whose sum is the SPE.

The live values go through tag units (degC, m3/h) and back, so agreement is to 1e-9, not bitwise.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "twin"))
from _golden_case import MAPPING, build_model, golden_binding, running_batch, write_replay  # noqa: E402

import golden_batch as gb  # noqa: E402
from twin import Twin, open_trace  # noqa: E402
from twin.sources import ReplaySource  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden_online") / "model.nc"
    build_model(path, seed=3)
    return path, gb.GoldenBatchModel.load(path)


def _on_grid(model, seed, fault):
    el, x = running_batch(seed=seed, fault=fault)
    grid = model.aligner_.grid_
    grid = grid[grid <= el[-1]]
    return grid, np.stack([np.interp(grid, el, x[:, j]) for j in range(x.shape[1])], axis=-1)


def _independent_contributions(model, x):
    m = model.mpca_
    k, j, a = m.loadings_time_.shape
    n = len(x)
    z = (x - m.mean_.reshape(k, j)[:n]) / m.scale_.reshape(k, j)[:n]
    p = m.loadings_time_[:n]
    t_star = np.cumsum(np.einsum("kj,kja->ka", z, p), axis=0)
    t_hat = np.einsum("ka,kab->kb", t_star, m.online_matrix_[:n])
    w = np.einsum("kab,kb->ka", m.online_cov_inv_[:n], t_hat)
    c_t2 = z * np.einsum("kja,ka->kj", p, w)
    resid = z - np.einsum("kja,ka->kj", p, t_hat)
    return c_t2, resid**2


@pytest.mark.parametrize("seed,fault", [(21, None), (22, "sensor_bias"), (23, "cooling"), (24, "late_feed")])
def test_live_scores_equal_offline_model(model, tmp_path, seed, fault):
    path, gm = model
    grid, x = _on_grid(gm, seed, fault)
    csv = tmp_path / "batch.csv"
    write_replay(csv, grid, x)
    b = golden_binding(tmp_path, path)
    twin = Twin(b, trace=tmp_path / "t.zarr")
    twin.run(ReplaySource(csv, units={t.tag: t.unit for t in b.tags}))
    twin.close()
    live = open_trace(tmp_path / "t.zarr")
    n = len(grid)
    assert live.sizes["time"] == n
    np.testing.assert_array_equal(live["golden_index"].values, np.arange(n))

    raw = gb.make_batch_set({v: x[None, :, i] for i, v in enumerate(MAPPING)}, grid,
                            units={v: gm.aligner_.units_[v] for v in MAPPING})
    off = gm.monitor_aligned(gm.align(raw)).isel(batch=0, time=slice(0, n))
    np.testing.assert_allclose(live["golden_t2"].values, off["online_t2"].values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(live["golden_spe"].values, off["online_spe"].values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(live["golden_spe_limit"].values, off["spe_limit"].values, rtol=1e-12)
    np.testing.assert_allclose(live["golden_t2_limit"].values, float(off["t2_limit"]), rtol=1e-12)
    np.testing.assert_array_equal(live["golden_in_envelope"].values == 1, off["in_envelope"].values)
    for kpi in live["kpi"].values:
        np.testing.assert_allclose(live["golden_predicted"].sel(kpi=kpi).values, off[f"predicted_{kpi}"].values,
                                   rtol=1e-9, atol=1e-12)

    c_t2, c_spe = _independent_contributions(gm, x)
    np.testing.assert_allclose(live["golden_t2_contribution"].values, c_t2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(live["golden_spe_contribution"].values, c_spe, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(live["golden_spe_contribution"].sum("variable").values, off["online_spe"].values,
                               rtol=1e-9, atol=1e-9)
