"""A binding's ``golden:`` model scores the running batch in the twin: trace variables, alarms, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _golden_case import MAPPING, build_model, golden_binding, running_batch, write_replay

from twin import Twin, open_trace
from twin.sources import ReplaySource
from workbench.errors import ConfigError


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "model.nc"
    build_model(path)
    return path


def _replay(tmp_path, model_file, batch, *, block=True, **overrides):
    tmp_path.mkdir(parents=True, exist_ok=True)
    csv = tmp_path / "batch.csv"
    write_replay(csv, *batch)
    b = golden_binding(tmp_path, model_file, **overrides)
    twin = Twin(b, trace=tmp_path / "t.zarr", overwrite=True)
    twin.block_path = block
    blocks = []
    orig = twin._process_block
    twin._process_block = lambda *a: (blocks.append(len(a[0])), orig(*a))[1]
    twin.run(ReplaySource(csv, units={t.tag: t.unit for t in b.tags}))
    twin.blocks = blocks
    return twin, twin.close()


@pytest.mark.parametrize("block", [True, False])
def test_trace_holds_the_scores_of_a_direct_monitor_session(model_file, tmp_path, block):
    import golden_batch as gb

    elapsed, values = running_batch()
    twin, _ = _replay(tmp_path, model_file, (elapsed, values), block=block)
    assert (sum(twin.blocks) > len(elapsed) // 2) == block  # the block path ran (or not)
    ds = open_trace(tmp_path / "t.zarr")
    session = gb.GoldenBatchModel.load(model_file).start()
    ref = [session.update(float(t), v) for t, v in zip(elapsed, values, strict=True)]
    assert ds.sizes["time"] == len(ref)
    names = list(ds["variable"].values)
    assert names == list(MAPPING)
    np.testing.assert_array_equal(ds["golden_index"].values, [s.index for s in ref])
    for var, attr in (("golden_t2", "t2"), ("golden_spe", "spe"), ("golden_spe_limit", "spe_limit")):
        np.testing.assert_allclose(ds[var].values, [getattr(s, attr) for s in ref], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ds["golden_t2_contribution"].values,
                               [[s.t2_contribution[v] for v in names] for s in ref], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(ds["golden_in_envelope"].values, [[s.in_envelope[v] for v in names] for s in ref])
    kpis = list(ds["kpi"].values)
    assert set(kpis) == {"yield", "impurity"}
    np.testing.assert_allclose(ds["golden_predicted"].values,
                               [[s.predicted_quality[k] for k in kpis] for s in ref], rtol=1e-9)
    assert ds["golden_t2"].attrs["long_name"] and ds["golden_t2"].attrs["units"] == "1"
    # the interval of the predicted quality: ŷ ± z0.975 · cross-validated RMSE, stored with the model file
    q = gb.GoldenBatchModel.load(model_file).quality_model_
    assert np.all(q.rmse_cv_ > q.rmse_fit_)  # a new batch is predicted worse than the fitted ones
    half = ds["golden_predicted_high"].values - ds["golden_predicted"].values
    seen = np.isfinite(ds["golden_predicted"].values)
    assert seen.any()
    np.testing.assert_allclose(half[seen], np.broadcast_to(1.959963984540054 * q.rmse_cv_, half.shape)[seen], rtol=1e-9)


def test_a_sensor_bias_raises_a_golden_alarm_on_its_tag(model_file, tmp_path):
    elapsed, values = running_batch(fault="sensor_bias")
    twin, report = _replay(tmp_path, model_file, (elapsed, values))
    golden = [e for e in report.events if e.kind.startswith("golden-")]
    assert golden, "no golden alarm for a temperature sensor bias of three times the usual size"
    assert all(e.end is not None and e.unit == "1" for e in golden)
    biggest = max(golden, key=lambda e: e.magnitude)
    assert biggest.tag == "TI_reactor" and biggest.kind.startswith("golden-spe") and biggest.magnitude > 3
    logged = [json.loads(line) for line in (tmp_path / "t.zarr" / "events.jsonl").read_text().splitlines()]
    assert {(e["start"], e["kind"]) for e in logged if e["kind"].startswith("golden-")} == \
        {(e.start, e.kind) for e in golden}


def test_a_clean_batch_raises_fewer_golden_alarms_than_a_faulty_one(model_file, tmp_path):
    clean = _replay(tmp_path / "c", model_file, running_batch(seed=11))[1]
    faulty = _replay(tmp_path / "f", model_file, running_batch(seed=11, fault="cooling"))[1]
    length = [sum(e.end - e.start for e in r.events if e.kind.startswith("golden-")) for r in (clean, faulty)]
    assert length[0] < length[1]


def test_bare_path_means_tag_names_and_a_missing_tag_is_named(model_file, tmp_path):
    with pytest.raises(ConfigError, match=r"golden: golden-batch model variable 'temperature' \(a bare model path "
                                          r"means same names\) is not a tag of this binding"):
        Twin(golden_binding(tmp_path, model_file, golden=str(model_file)))


def test_unmapped_model_variable_is_named(model_file, tmp_path):
    part = {k: v for k, v in MAPPING.items() if k != "feed_rate"}
    with pytest.raises(ConfigError, match=r"golden\.variables: golden-batch model variable 'feed_rate' has no tag"):
        Twin(golden_binding(tmp_path, model_file, golden={"model": str(model_file), "variables": part}))


def test_mapping_to_an_unknown_tag_or_variable_is_named(model_file, tmp_path):
    with pytest.raises(ConfigError, match=r"golden\.variables\.feed_rate: .*'FI_fed', which is not a tag"):
        Twin(golden_binding(tmp_path, model_file, golden={"model": str(model_file),
                                                          "variables": {**MAPPING, "feed_rate": "FI_fed"}}))
    with pytest.raises(ConfigError, match=r"golden\.variables: golden\.variables maps 'temp'"):
        Twin(golden_binding(tmp_path, model_file, golden={"model": str(model_file),
                                                          "variables": {**MAPPING, "temp": "TI_reactor"}}))


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"golden\.model: golden-batch model file .*nowhere\.nc does not exist"):
        Twin(golden_binding(tmp_path, tmp_path / "nowhere.nc"))


def test_unconvertible_unit_is_named(model_file, tmp_path):
    with pytest.raises(ConfigError, match=r"golden\.variables\.feed_rate: tag 'LI_volume' has unit 'm3'"):
        Twin(golden_binding(tmp_path, model_file, golden={"model": str(model_file),
                                                          "variables": {**MAPPING, "feed_rate": "LI_volume"}}))


def test_twin_replay_cli_with_a_golden_binding(model_file, tmp_path, capsys):
    import yaml

    from twin_app.cli.main import main

    csv = tmp_path / "batch.csv"
    write_replay(csv, *running_batch(fault="sensor_bias"))
    binding = yaml.safe_load(golden_binding(tmp_path, model_file).model_dump_json(by_alias=True))
    binding["golden"] = {"model": "model.nc", "variables": dict(MAPPING)}  # relative to the binding's folder
    (tmp_path / "model.nc").symlink_to(model_file)
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"kind": "twin-binding", **binding}))
    code = main(["replay", str(tmp_path / "b.yaml"), str(csv), "--trace", str(tmp_path / "r.zarr"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any(e["kind"].startswith("golden-spe") and e["tag"] == "TI_reactor" for e in out["events"])
    assert "golden_t2" in open_trace(tmp_path / "r.zarr")
    main(["replay", str(tmp_path / "b.yaml"), str(csv), "--trace", str(tmp_path / "r2.zarr")])
    table = capsys.readouterr().out
    assert "× limit" in table and " 1 │" not in table  # a ratio to the limit, never the unit "1"
    (tmp_path / "model.nc").unlink()
    code = main(["replay", str(tmp_path / "b.yaml"), str(csv), "--trace", str(tmp_path / "s.zarr")])
    err = capsys.readouterr()
    assert code == 2 and "golden.model" in err.out + err.err and "does not exist" in err.out + err.err


def test_joining_a_running_batch_judges_only_the_envelope(model_file, tmp_path):
    import pandas as pd

    elapsed, values = running_batch(fault="sensor_bias")
    csv = tmp_path / "batch.csv"
    write_replay(csv, elapsed, values)
    rows = pd.read_csv(csv).iloc[10:]  # the twin starts 10 min into the batch
    rows["BatchTime"] = rows["time"]
    rows.to_csv(csv, index=False, float_format="%.17g")
    b = golden_binding(tmp_path, model_file)
    twin = Twin(b, trace=tmp_path / "t.zarr")
    twin.run(ReplaySource(csv, units={t.tag: t.unit for t in b.tags}))
    report = twin.close()
    ds = open_trace(tmp_path / "t.zarr")
    assert twin.golden.joined
    # the batch's start was never seen: no T², SPE, contributions or quality prediction (NaN), no T²/SPE alarm
    for v in ("golden_t2", "golden_spe", "golden_t2_contribution", "golden_predicted"):
        assert np.isnan(ds[v].values).all(), v
    assert ds["golden_index"].values[0] >= 9 and np.isin(ds["golden_in_envelope"].values, [0.0, 1.0]).all()
    golden = [e for e in report.events if e.kind.startswith("golden-")]
    assert golden and all(e.kind == "golden-envelope" for e in golden)
    assert any(e.tag == "TI_reactor" for e in golden)  # the biased sensor leaves its band


def test_resume_with_the_same_golden_binding_and_refused_without(model_file, tmp_path):
    from workbench.errors import DatasetError

    elapsed, values = running_batch()
    csv = tmp_path / "batch.csv"
    write_replay(csv, elapsed, values)
    b = golden_binding(tmp_path, model_file)
    units = {t.tag: t.unit for t in b.tags}
    first = Twin(b, trace=tmp_path / "t.zarr")
    first.run(ReplaySource(csv, units=units), max_frames=15)
    first.close()
    again = Twin(b, trace=tmp_path / "t.zarr", resume=True)
    again.run(ReplaySource(csv, units=units))
    again.close()
    ds = open_trace(tmp_path / "t.zarr")
    assert ds.sizes["time"] == len(elapsed) and np.isfinite(ds["golden_t2"].values[:15]).all()
    plain = golden_binding(tmp_path, model_file, golden=None)
    other = Twin(plain, trace=tmp_path / "p.zarr")
    other.run(ReplaySource(csv, units=units), max_frames=5)
    other.close()
    with pytest.raises(DatasetError, match="cannot resume: the store has no 'golden_index'"):
        Twin(b, trace=tmp_path / "p.zarr", resume=True)
