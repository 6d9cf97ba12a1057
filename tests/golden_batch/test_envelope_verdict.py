"""One envelope verdict, family-wise over time and variables (issue 19 §4), shared by check, CLI and report."""

from __future__ import annotations

import json

import numpy as np
import pytest

import golden_batch as gb
from twin_app.cli.main import main
from workbench.dataset import write_netcdf


def _gaussian(n, k=40, j=52, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k, j))


def test_simultaneous_band_holds_alpha_where_per_sample_ksigma_does_not():
    alpha = 0.01
    env = gb.Envelope(k=3).fit(_gaussian(60))
    new = _gaussian(300, seed=1)
    old_rule = (env.predict(new)["fraction_inside"] < 0.95).mean().item()  # the former CLI rule
    assert old_rule > 0.5  # 52 variables inside ±3σ: 13 % of normal samples have one outside
    v = env.verdict(new, alpha)
    k = int((~v["in_envelope"]).sum())
    lo, _ = gb.clopper_pearson(k, 300, 0.99)
    assert lo <= alpha
    bad = new[:5].copy()
    bad[:, 10:14, 3] += 8.0  # 8 σ on one variable for 4 of 40 samples
    assert not env.verdict(bad, alpha)["in_envelope"].any()


def test_band_is_calibrated_on_heavy_tails():
    """Student-t(3) data: the conformal leave-one-out quantile widens the Bonferroni band where needed.

    The guarantee is marginal (over reference sets as well as new batches), so each
    repetition draws its own reference set and one new batch.
    """
    rng = np.random.default_rng(2)
    alpha, reps, hits, wider = 0.1, 400, 0, 0
    for _ in range(reps):
        env = gb.Envelope().fit(rng.standard_t(3, (39, 10, 3)))
        hits += int(not env.verdict(rng.standard_t(3, (1, 10, 3)), alpha)["in_envelope"].item())
        bonf = float(__import__("scipy").stats.t.ppf(1 - alpha / 60, 38) * np.sqrt(1 + 1 / 39))
        wider += env.simultaneous_factor(alpha) > bonf
    lo, _ = gb.clopper_pearson(hits, reps, 0.99)
    assert lo <= alpha and wider > reps / 2, (hits, wider)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("verdict")
    write_netcdf(gb.make_synthetic_history(30, seed=1), d / "history.nc")
    write_netcdf(gb.make_synthetic_history(4, seed=7, faults={"cooling": 2}), d / "new.nc")
    return d


def test_check_json_and_report_use_the_same_in_envelope(files, capsys):
    env = files / "envelope.nc"
    assert main(["golden", "build", str(files / "history.nc"), "-o", str(env), "--alignment", "elapsed"]) == 0
    capsys.readouterr()
    code = main(["golden", "check", str(env), str(files / "new.nc"), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == (1 if any(r["verdict"] != "in" for r in rows) else 0)
    for key in ("batch", "verdict", "t2", "t2_limit", "spe", "spe_limit", "envelope_outside_fraction",
                "top_contributors"):
        assert all(key in r for r in rows), key
    model = gb.GoldenBatchModel.load(env)
    res = model.check(gb.read_history(files / "new.nc"))
    for r in rows:
        inside = bool(res["in_envelope"].sel(batch=r["batch"]))
        assert r["in_envelope"] == inside
        assert ("outside envelope" in r["verdict"]) == (not inside)
    html = files / "r.html"
    assert main(["golden", "report", str(env), "--batch", str(files / "new.nc"), "-o", str(html)]) == 0
    assert "envelope_outside_fraction" in html.read_text()
