"""Reliability views (issue 24): probability paper, fit band, parameter and B-life tables, PM optimum."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from tests.viz._report_checks import assert_report_style, csv_tables
from twin_app.cli.main import main


@pytest.fixture(scope="module")
def bearing_fit():
    from simulation.life import LifeData, fit_life
    from twin_app.tours.life import BALL_BEARING_MCYCLES

    return fit_life(LifeData(failures=np.array(BALL_BEARING_MCYCLES), unit="h"), "weibull")


def _trace(fig, name_part):
    return next(t for t in fig.data if name_part in (t.name or ""))


def test_weibull_fit_on_weibull_paper_with_band_and_published_parameters(bearing_fit, tmp_path):
    from viz.life_report import write_life_report

    plot = bearing_fit.plot_data()
    path = write_life_report(tmp_path / "fit.html", fit_plot=plot, title="bearing fit")
    text = assert_report_style(path)
    assert "Weibull paper" in path.read_text() and "confidence band" in path.read_text() and "B-lives" in text
    tables = csv_tables(path.read_text())
    params = {r[0]: [float(x) for x in r[1:4]] for r in tables["fit_parameters.csv"][1:]}
    # Lieblein–Zelen ball bearings, Weibull MLE: beta = 2.102, eta = 81.88 (Lawless 2003, Example 5.2.2)
    assert params["shape"][0] == pytest.approx(2.102, abs=0.002)
    assert params["scale"][0] == pytest.approx(81.88, abs=0.05)
    assert params["shape"][1] < params["shape"][0] < params["shape"][2]
    blives = tables["b_lives.csv"]
    assert [r[0] for r in blives[1:]] == ["B1 (1 % failed)", "B10 (10 % failed)"]
    b10 = [float(x) for x in blives[2][1:4]]
    assert b10[0] == pytest.approx(81.88 * (-np.log(0.9)) ** (1 / 2.102), rel=2e-3) and b10[1] < b10[0] < b10[2]
    assert tables["fit_parameters.csv"][0] == ["parameter", "estimate", "lower bound", "upper bound", "unit"]


def test_lognormal_fit_is_drawn_on_lognormal_paper():
    from simulation.life import LifeData, fit_life
    from viz._figures_life import probability_plot

    rng = np.random.default_rng(3)
    fit = fit_life(LifeData(failures=rng.lognormal(np.log(500), 0.6, 30), right=np.full(5, 900.0), unit="h"),
                   "lognormal")
    plot = fit.plot_data()
    fig = probability_plot(plot)
    pts = _trace(fig, "median ranks")
    np.testing.assert_allclose(pts.y, stats.norm.ppf(plot["observed_unreliability"].values))
    assert fig.layout.xaxis.type == "log" and "lognormal paper" in fig.layout.title.text
    line = _trace(fig, "fit")
    # a lognormal is straight on lognormal paper: y linear in ln t
    slope = np.diff(line.y) / np.diff(np.log(line.x))
    np.testing.assert_allclose(slope, slope[0], rtol=1e-6)
    assert not any("{" in (t.name or "") for t in fig.data)
    assert len(pts.y) == 30  # the 5 suspensions are not plotted (Johnson's adjusted ranks)


def _policy(intervals_h, cost):
    est = np.asarray(cost, float)
    return xr.Dataset(
        {"interval": ("trial", np.asarray(intervals_h, float) * 3600.0, {"units": "s", "long_name": "bearing interval"}),
         "cost_rate": (("bound", "trial"), np.stack([est, est * 0.9, est * 1.1]), {"units": "EUR/h"})},
        coords={"bound": ["estimate", "lower", "upper"]}, attrs={"kind": "life-pm-policy"})


def test_pm_optimum_marked_and_edge_warned(tmp_path):
    from viz.life_report import pm_edge_warning, write_life_report

    inside = _policy([100, 200, 300, 400], [3.0, 2.0, 2.5, 2.9])
    assert pm_edge_warning(inside) is None
    text = assert_report_style(write_life_report(tmp_path / "in.html", policy=inside))
    assert "the optimum may lie outside" not in text and "grid edge" not in (tmp_path / "in.html").read_text()
    assert "optimum 200 h" in (tmp_path / "in.html").read_text()
    edge = _policy([100, 200, 300, 400], [3.0, 2.5, 2.2, 2.0])
    warn = pm_edge_warning(edge)
    assert "longest interval searched (400 h)" in warn
    text = assert_report_style(write_life_report(tmp_path / "edge.html", policy=edge))
    assert "longest interval searched (400 h)" in text
    assert csv_tables((tmp_path / "edge.html").read_text())["pm_optimum.csv"][1] == \
        ["simulated optimum interval", "400.0", "h"]
    assert "optimum 400 h (grid edge!)" in (tmp_path / "edge.html").read_text()


def test_optimize_pm_cli_warns_on_the_grid_edge(capfd):
    from tests.cli.test_output_hygiene import SCENARIOS

    assert main(["life", "optimize-pm", str(SCENARIOS / "bearing_age_replacement.yaml"),
                 "--intervals", "200 h, 900 h", "-n", "4"]) == 0
    err = capfd.readouterr().err
    assert "warning" in err and "interval searched" in err


def test_life_report_of_a_simulation_in_the_report_style(real_outputs, tmp_path):
    from viz import load_result
    from viz.life_report import write_life_report

    path = write_life_report(tmp_path / "life.html", load_result(real_outputs["life"]),
                             fit_plot=load_result(real_outputs["life_fit"]))
    text = assert_report_style(path)
    kpis = csv_tables(path.read_text())["life_kpis.csv"]
    assert len(kpis) > 2 and kpis[0][-1] == "unit"
    assert "confidence band" in text or "confidence band" in path.read_text()
