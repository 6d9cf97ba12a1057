"""Every page's figures on what the producers really write (not the synthetic ``viz._samples``)."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from twin import open_trace
from viz import _figures_live as fl
from viz import _figures_results as fr
from viz._data import load_result, monitor_view


def _n(fig) -> int:
    return sum(len(t.x) if t.x is not None else len(t.y) for t in fig.data)


def test_live_figures_on_a_twin_trace(real_outputs):
    from viz._app import overview_figure

    ds = open_trace(real_outputs["trace"])
    fig = fl.trend_figure(ds, "TI_reactor", n_out=500)
    real = next(t for t in fig.data if t.name == "real")
    assert len(real.x) == ds.sizes["time"]
    np.testing.assert_array_equal(np.asarray(real.y, dtype=float),
                                  ds["value"].sel(source="real", tag="TI_reactor").values)
    assert _n(overview_figure(ds, 500)) > 0


def test_envelope_figure_on_a_golden_model_file(real_outputs):
    env = load_result(real_outputs["envelope"])
    fig = fl.envelope_figure(env, variable="temperature")
    mean = next(t for t in fig.data if t.name == "golden mean")
    np.testing.assert_allclose(mean.y, env["envelope_mean"].sel(variable="temperature").values)
    assert fig.layout.yaxis.title.text.startswith("temperature [")


def test_mspc_from_monitor_aligned_and_contributions(real_outputs):
    raw = load_result(real_outputs["monitor"])
    mon = monitor_view(raw)
    last = str(raw["batch"].values[-1])
    assert mon.attrs["batch"] == last and mon["t2"].dims == ("time",)
    fig = fl.mspc_figure(mon)
    t2 = fig.data[0]
    np.testing.assert_allclose(t2.y, raw["online_t2"].sel(batch=last).values)
    k = int(np.argmax(mon["t2"].values))
    bars = fl.contribution_figure(mon, k, statistic="t2").data[0]
    row = raw["t2_contribution"].sel(batch=last).isel(time=k)
    assert bars.x[0] == str(row["variable"].values[int(np.argmax(np.abs(row.values)))])
    with pytest.raises(Exception, match="no batch"):
        monitor_view(raw, batch="B9999")


def test_mspc_from_a_live_monitor_session(real_outputs):
    raw = load_result(real_outputs["session"])
    mon = monitor_view(raw)
    assert mon.sizes["time"] == int((raw["index"].values >= 0).sum())
    fig = fl.mspc_figure(mon)
    assert _n(fig) > 0
    # no contributions in a session dataset: the chart says so instead of failing
    assert "click" in fl.contribution_figure(mon, None).layout.title.text


def test_scenario_figures_on_line_results(real_outputs):
    res = {n: load_result(real_outputs[n]) for n in ("assembly_line", "assembly_line_big_buffers")}
    kpi = fr.kpi_ci_figure(res)
    thr = next(t for t in kpi.data if t.name == "throughput")
    np.testing.assert_allclose(thr.y, [float(d["mean"].sel(kpi="throughput")) for d in res.values()])
    gantt = fr.gantt_figure(res["assembly_line"])
    assert sum(len(t.x) for t in gantt.data) == res["assembly_line"].sizes["segment"]
    assert _n(fr.wip_figure(res)) > 0 and _n(fr.state_fraction_figure(res["assembly_line"])) > 0


def test_campaign_figures_on_campaign_trials(real_outputs):
    ds = load_result(real_outputs["campaign"])
    hist = fr.campaign_history_figure(ds)
    best = next(t for t in hist.data if t.name == "best feasible so far")
    feasible = ds["feasible"].values.astype(bool)
    y = ds["objective_0"].values
    if feasible.any():  # maximised yield: the line ends at the best feasible trial's objective
        assert np.asarray(best.y, dtype=float)[-1] == pytest.approx(y[feasible].max())
    assert hist.layout.yaxis.title.text.startswith("yield")
    imp = fr.importance_figure(ds)
    assert set(imp.data[0].y) == {"jacket_inlet_1", "jacket_inlet_2", "feed_rate_1"}
    assert "single-objective" in fr.pareto_figure(ds).layout.title.text


def _golden_envelope_on_T():
    """A golden_batch envelope on the reactor temperature ``T`` (and volume ``V``) over elapsed s."""
    import golden_batch as gb

    hist = gb.make_reactor_history(5, seed=4, duration=4 * 3600.0, interval=240.0)
    return gb.Envelope(k=3.0, variables=["T", "V"]).fit(gb.Aligner("elapsed", n_points=61).fit_transform(hist)).to_dataset()


def test_best_recipe_against_the_campaigns_own_envelope(real_outputs):
    ds = load_result(real_outputs["campaign"])
    fig = fr.best_recipe_figure(ds)
    assert fig is not None and "campaign envelope" in fig.layout.title.text
    band = next(t for t in fig.data if t.name == "campaign envelope")
    np.testing.assert_array_equal(np.asarray(band.x, dtype=float), ds["envelope_time"].values)
    np.testing.assert_array_equal(np.asarray(band.y, dtype=float), ds["envelope_lower_T"].values)
    upper = fig.data[0]  # the band's upper edge is drawn first, fill goes to the next trace
    np.testing.assert_array_equal(np.asarray(upper.y, dtype=float), ds["envelope_upper_T"].values)
    label = f"best recipe (trial {int(ds.attrs['best_trajectory_trial'])})"
    best = next(t for t in fig.data if t.name == label)
    np.testing.assert_array_equal(np.asarray(best.y, dtype=float), ds["best_T"].values)
    assert fig.layout.yaxis.title.text == "T [K]"
    assert not [t for t in fig.data if t.name == "golden mean"]  # a campaign band has no mean
    # the converter gives envelope_figure's layout
    env = fr.campaign_envelope(ds)
    assert env["envelope_lower"].dims == ("time", "variable") and list(env["variable"].values) == ["T"]
    # a golden envelope without T (the golden model's variables are named differently): own band
    golden = load_result(real_outputs["envelope"])
    assert "T" not in set(map(str, golden["variable"].values))
    assert "campaign envelope" in fr.best_recipe_figure(ds, envelope=golden).layout.title.text


def test_best_recipe_against_a_golden_envelope_given(real_outputs):
    ds = load_result(real_outputs["campaign"])
    golden = _golden_envelope_on_T()
    fig = fr.best_recipe_figure(ds, envelope=golden)
    assert "golden envelope" in fig.layout.title.text
    mean = next(t for t in fig.data if t.name == "golden mean")
    np.testing.assert_allclose(mean.y, golden["envelope_mean"].sel(variable="T").values)
    best = next(t for t in fig.data if str(t.name).startswith("best recipe"))
    np.testing.assert_array_equal(np.asarray(best.y, dtype=float), ds["best_T"].values)


def test_campaign_report_shows_the_best_recipe_against_the_envelope(real_outputs, tmp_path, artefacts):
    from tests.viz.conftest import publish
    from viz.campaign_report import write_campaign_report

    path = write_campaign_report(real_outputs["campaign"], tmp_path / "campaign_report.html")
    html = path.read_text()
    assert "against the campaign envelope" in html and "best recipe: temperatures" in html
    golden = tmp_path / "golden_T.nc"
    from workbench.dataset import write_netcdf

    write_netcdf(_golden_envelope_on_T(), golden)
    other = write_campaign_report(real_outputs["campaign"], tmp_path / "campaign_report_golden.html", envelope=golden)
    assert "against the golden envelope" in other.read_text()
    publish(path, artefacts)


def test_reliability_figures_on_life_results(real_outputs):
    life = load_result(real_outputs["life"])
    rel = fr.reliability_figure(life)
    est = next(t for t in rel.data if t.name == "R(t)")
    np.testing.assert_allclose(est.y, life["reliability"].sel(bound="estimate").values)
    fit = load_result(real_outputs["life_fit"])
    wb = fr.weibull_plot(fit)
    pts, line = wb.data[0], wb.data[-1]
    assert len(pts.x) == fit.sizes["sample"]
    # a Weibull fit is a straight line on Weibull paper: y = β (ln t − ln η)
    x, yl = np.log(np.asarray(line.x, dtype=float)), np.asarray(line.y, dtype=float)
    ok = np.isfinite(yl)
    slope = np.polyfit(x[ok], yl[ok], 1)[0]
    beta = float(ast.literal_eval(fit.attrs["parameters"])["shape"])
    assert slope == pytest.approx(beta, rel=1e-6)


def test_line_scene_from_a_line_result(real_outputs, tmp_path):
    from viz import line_scene_from_result, render_png

    ds = load_result(real_outputs["assembly_line"])
    scene = line_scene_from_result(ds)
    assert scene is not None
    from PIL import Image

    png = render_png(scene, tmp_path / "line.png", window_size=(400, 300))
    assert np.asarray(Image.open(png).convert("RGB")).std() > 10
