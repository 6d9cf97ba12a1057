"""The dashboard's tables, alarm log, time axes, envelope matching and start-up path checks (no browser)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from viz._alarms import (
    AckLog,
    alarm_key,
    alarm_log_rows,
    default_ack_path,
    rows_to_csv,
    trace_events,
)
from viz._figures_live import (
    envelope_figure,
    envelope_match,
    mspc_figure,
    overview_figure,
    time_axis,
    trend_figure,
)
from viz._samples import envelope_dataset, line_result, monitor_dataset, trace_dataset
from viz._tables import recipe_rows, scenario_delta_rows, unit_label


def _line(values: np.ndarray, seeds: list[int], kpis=("throughput", "wip"), units=("1/h", "1")) -> xr.Dataset:
    return xr.Dataset({"value": (("replication", "kpi"), values),
                       "replication_seed": ("replication", np.array(seeds, dtype=np.int64))},
                      coords={"replication": np.arange(len(seeds)), "kpi": list(kpis), "kpi_units": ("kpi", list(units))},
                      attrs={"confidence": 0.95})


def test_delta_is_paired_under_common_random_numbers_and_welch_otherwise():
    from scipy import stats

    rng = np.random.default_rng(1)
    base = rng.normal([30.0, 20.0], [1.0, 2.0], (8, 2))
    shift = np.array([0.5, 0.0])
    variant = base + shift + rng.normal(0, 0.05, (8, 2))  # same streams: small paired noise
    rows, method = scenario_delta_rows({"base": _line(base, list(range(8))), "v": _line(variant, list(range(8)))})
    assert "paired t" in method and "common random numbers" in method
    thr = next(r for r in rows if r["KPI"] == "throughput")
    d = variant[:, 0] - base[:, 0]
    assert float(thr["Δ"]) == pytest.approx(d.mean(), rel=1e-3)
    assert float(thr["p"]) == pytest.approx(stats.ttest_rel(variant[:, 0], base[:, 0]).pvalue, rel=0.05)
    assert thr["significant"] == "yes" and thr["test"] == "paired t" and thr["unit"] == "1/h"
    wip = next(r for r in rows if r["KPI"] == "wip")
    assert wip["unit"] == "–"  # dimensionless is never "1"
    # other seeds: independent samples → Welch, the same p as scipy's Welch test
    rows, method = scenario_delta_rows({"base": _line(base, list(range(8))), "v": _line(variant, list(range(10, 18)))})
    assert "Welch" in method
    thr = next(r for r in rows if r["KPI"] == "throughput")
    assert float(thr["p"]) == pytest.approx(stats.ttest_ind(variant[:, 0], base[:, 0], equal_var=False).pvalue,
                                            rel=0.05)
    lo, hi = (float(x) for x in thr["95% CI of Δ"].split(" … "))
    assert lo < float(thr["Δ"]) < hi
    assert (thr["significant"] == "yes") == (lo > 0 or hi < 0)


def test_delta_no_difference_is_not_significant():
    rng = np.random.default_rng(2)
    a, b = rng.normal(10, 1, (10, 2)), rng.normal(10, 1, (10, 2))
    rows, _ = scenario_delta_rows({"a": _line(a, list(range(10))), "b": _line(b, list(range(20, 30)))})
    lo, hi = (float(x) for x in rows[0]["95% CI of Δ"].split(" … "))
    assert (rows[0]["significant"] == "no") == (lo <= 0 <= hi)


def test_recipe_rows_single_and_multi_objective():
    ds = xr.Dataset({"objective_0": ("trial", np.array([0.7, 0.9, 0.8, 0.95])),
                     "param_T": ("trial", np.array([330.0, 335.0, 340.0, 345.0]), {"units": "K"}),
                     "feasible": ("trial", np.array([True, True, True, False]))},
                    coords={"trial": np.arange(4)}, attrs={"objectives": "yield", "directions": "maximize"})
    ds["objective_0"].attrs["units"] = "1"
    rows = recipe_rows(ds)
    assert [r["trial"] for r in rows] == ["1", "2", "0"]  # best feasible first; the infeasible 0.95 never counts
    assert rows[0]["T [K]"] == "335" and "yield (maximise) [–]" in rows[0]
    from viz._samples import campaign_result

    multi = campaign_result()
    rows = recipe_rows(multi)
    obj = multi["value"].values
    front = [int(r["trial"]) for r in rows]
    for i in front:  # no front member is dominated by any trial (both minimised)
        assert not ((obj[:, 0] <= obj[i, 0]) & (obj[:, 1] <= obj[i, 1]) & ((obj[:, 0] < obj[i, 0]) | (obj[:, 1] < obj[i, 1]))).any()
    assert 1 < len(rows) < multi.sizes["trial"]
    assert unit_label("x", "1") == "x [–]" and unit_label("x", "K") == "x [K]"


def test_alarm_log_rows_iso_clock_batch_time_and_acks(tmp_path):
    t0 = float(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))
    events = [{"tag": "T1", "kind": "cusum", "start": t0 + 600.0, "end": t0 + 900.0, "magnitude": 1.5,
               "direction": 1, "unit": "K"},
              {"tag": "T0", "kind": "limit", "start": t0 + 1200.0, "end": None, "magnitude": 2.0, "direction": -1,
               "unit": "K"}]
    log = AckLog(default_ack_path(tmp_path / "run.zarr"))
    assert log.path == tmp_path / "run.zarr.acks.jsonl"
    log.acknowledge(alarm_key(events[0]), tag="T1")
    log.acknowledge(alarm_key(events[0]), tag="T1")  # a second ack keeps the first record
    assert len(log.path.read_text().splitlines()) == 1
    with log.path.open("a") as fh:
        fh.write('{"key": "torn')  # a torn last line is skipped
    rows = alarm_log_rows(events, time0=t0, clock=True, acks=log.load())
    assert [r["tag"] for r in rows] == ["T0", "T1"]  # newest first
    assert rows[1]["start (UTC)"] == "2026-01-01 00:10:00 UTC" and rows[1]["start, batch time [min]"] == "10"
    assert rows[1]["duration [min]"] == "5" and rows[1]["largest |residual|"] == "+1.5 K"
    assert rows[1]["acknowledged"].endswith("UTC") and rows[0]["acknowledged"] == ""
    assert rows[0]["end (UTC)"] == "active"
    csv = rows_to_csv(rows)
    assert csv.splitlines()[0].startswith("tag,test,start (UTC)") and "key" not in csv.splitlines()[0]
    assert len(csv.splitlines()) == 3 and "1.7" not in csv  # no epoch seconds
    # elapsed traces: batch time columns only
    rows = alarm_log_rows([{**events[0], "start": 600.0, "end": 900.0}], time0=0.0, clock=False)
    assert "start (UTC)" not in rows[0] and rows[0]["end, batch time [min]"] == "15"


def test_trace_events_fall_back_to_the_alarm_events_attr(tmp_path):
    (tmp_path / "s.zarr").mkdir()
    ev = [{"tag": "T0", "kind": "limit", "start": 5.0, "end": 9.0}]
    assert trace_events(tmp_path / "s.zarr", {"alarm_events": json.dumps(ev)}) == ev
    (tmp_path / "s.zarr" / "events.jsonl").write_text(json.dumps({**ev[0], "start": 7.0}) + "\n")
    assert [e["start"] for e in trace_events(tmp_path / "s.zarr", {"alarm_events": json.dumps(ev)})] == [7.0]


def test_time_axes_are_clock_or_batch_never_epoch_seconds():
    tr = trace_dataset(600, 3)
    t = tr["time"].values
    assert np.issubdtype(t.dtype, np.datetime64)
    x, title = time_axis(t, "batch")
    assert title == "batch time [min]" and x[0] == 0 and x[-1] == pytest.approx(599 / 60)
    x, title = time_axis(t, "clock")
    assert title == "clock time (UTC)" and np.issubdtype(x.dtype, np.datetime64)
    _, title = time_axis(np.arange(0.0, 3 * 3600.0, 10.0), "clock")  # elapsed seconds: batch time in h
    assert title == "batch time [h]"
    fig = trend_figure(tr, "T1", xmode="batch")
    assert fig.layout.xaxis2.title.text == "batch time [min]"
    assert max(max(np.asarray(d.x, dtype=float)) for d in fig.data if d.x is not None and len(d.x)) < 11
    ov = overview_figure(tr, 200, xmode="batch")
    assert ov.layout.showlegend and {d.name for d in ov.data} == {"T0", "T1", "tag02"}
    assert "[1]" not in ov.layout.yaxis.title.text


def test_envelope_chart_draws_the_batch_of_a_mapped_tag_in_the_envelope_unit():
    tr = trace_dataset(600, 3)
    env = envelope_dataset(["T0", "T1"])
    assert envelope_match(env, ["T0", "T1"], prefer="T1") == ("T1", "T1")
    renamed = env.assign_coords(variable=["temperature", "jacket"])
    assert envelope_match(renamed, ["T0", "T1"]) is None
    assert envelope_match(renamed, ["T0", "T1"], {"T1": "temperature"}) == ("T1", "temperature")
    fig = envelope_figure(renamed, trace=tr, variable="temperature", tag="T1")
    batch = next(d for d in fig.data if (d.name or "").startswith("running batch"))
    np.testing.assert_allclose(np.asarray(batch.y, dtype=float)[:5],
                               tr["value"].sel(source="real", tag="T1").values[:5])  # both in K
    # a trace in degC against an envelope in K is converted
    c = tr.copy()
    c["value"] = c["value"] - 273.15
    c = c.assign_coords(tag_unit=("tag", ["degC"] * c.sizes["tag"]))
    c.attrs["tag_units"] = json.dumps(dict.fromkeys(map(str, c["tag"].values), "degC"))
    fig = envelope_figure(renamed, trace=c, variable="temperature", tag="T1")
    batch = next(d for d in fig.data if (d.name or "").startswith("running batch"))
    np.testing.assert_allclose(np.asarray(batch.y, dtype=float)[:5],
                               tr["value"].sel(source="real", tag="T1").values[:5], rtol=1e-9)
    assert fig.layout.xaxis.title.text == "batch time [min]"


def test_mspc_figure_has_limit_lines_in_its_legend():
    fig = mspc_figure(monitor_dataset())
    names = [d.name for d in fig.data]
    assert names == ["T²", "T² limit", "SPE", "SPE limit"] and fig.layout.showlegend


def test_scenario_table_of_sample_results_has_one_row_per_kpi():
    a = line_result({"cut": 0.4, "weld": 0.9})
    b = line_result({"cut": 0.5, "weld": 0.8}, seed=7)
    rows, _ = scenario_delta_rows({"a": a, "b": b})
    assert len(rows) == len([k for k in a["kpi"].values if "[" not in str(k)])


# ------------------------------------------------------------------ CLI: bad paths are errors at start
def test_dashboard_bad_paths_exit_2_naming_the_path(monkeypatch, capsys, tmp_path):
    from twin_app.cli.main import main

    monkeypatch.setenv("TWIN_DASHBOARD_DRY_RUN", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    for opt in ("--trace", "--line-trace", "--envelope", "--monitor", "--campaign", "--life", "--life-fit"):
        assert main(["dashboard", opt, "nothere.zarr"]) == 2, opt
        err = capsys.readouterr().err
        assert "nothere.zarr" in err and opt in err and "data error" in err and "Traceback" not in err
    assert main(["dashboard", "--scenario", "base=nothere.nc"]) == 2
    assert "nothere.nc" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    assert main(["dashboard", "--trace", "plain"]) == 2
    assert "not a twin trace store" in capsys.readouterr().err
    assert main(["dashboard", "--trace", "later.zarr", "--wait"]) == 0  # twin monitor will create it
    assert main(["dashboard", "--envelope-map", "nomap"]) == 2
    assert "TAG=VARIABLE" in capsys.readouterr().err


@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,12}", fullmatch=True),
                          st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)), max_size=5))
def test_envelope_map_option_round_trips(pairs):
    from twin_app.cli.dashboard import _envelope_map

    assert _envelope_map([f"{t}={v}" for t, v in pairs]) == dict(pairs)
