"""A binding's ``mspc: model.nc``: the MSPC model runs on the raw plant tags, its alarms join the alarm log."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _reactor import PLANT_YAML, need_fmu
from _reactor import binding as make_binding

from spc import PCAMonitor
from twin import Twin
from twin.emulator import PlantEmulator, load_plant_scenario
from twin.sources import ReplaySource
from workbench.errors import ConfigError

BIAS = [{"kind": "bias", "tag": "TI_reactor", "at": "40 min", "until": "70 min", "value": 10.0}]


def _history(path, faults, seed):
    sc = load_plant_scenario(PLANT_YAML, overrides={"fmu": str(need_fmu()), "duration": "100 min",
                                                    "faults": faults, "drift": [], "seed": seed})
    rows = [{"time": f.time, **{k: s.value for k, s in f.samples.items()}} for f in PlantEmulator(sc).frames()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("twin_mspc")
    normal = _history(d / "normal.csv", [], seed=1)
    _history(d / "faulty.csv", BIAS, seed=2)
    bound = [t.tag for t in make_binding().tags]
    tags = [c for c in bound if c in normal.columns and normal[c].std() > 0]
    PCAMonitor(variables=tags, lags=1).fit(normal.iloc[len(normal) // 5:]).save(d / "model.nc")  # past start-up
    return d, tags


@pytest.mark.parametrize("block", [True, False])
def test_mspc_alarm_in_the_alarm_log_during_a_sensor_bias(files, tmp_path, block):
    d, tags = files
    b = make_binding(mspc=str(d / "model.nc"))
    twin = Twin(b, trace=tmp_path / "t.zarr")
    twin.block_path = block
    twin.run(ReplaySource(d / "faulty.csv", units={t.tag: t.unit for t in b.tags}))
    report = twin.close()
    mspc = [e for e in report.events if e.kind.startswith("mspc")]
    during = [e for e in mspc if 40 * 60 <= e.start <= 70 * 60]
    assert during and any(e.tag == "TI_reactor" and e.magnitude > 1 for e in during)
    assert all(e.end is not None for e in mspc)
    logged = [json.loads(line) for line in (tmp_path / "t.zarr" / "events.jsonl").read_text().splitlines()]
    assert {(e["start"], e["kind"]) for e in logged if e["kind"].startswith("mspc")} == {(e.start, e.kind) for e in mspc}


def test_mspc_model_must_use_bound_tags(files, tmp_path):
    d, tags = files
    PCAMonitor(2).fit(pd.DataFrame({"a": range(30), "b": [i % 7 for i in range(30)], "c": [i % 5 for i in range(30)]},
                                   dtype=float)).save(tmp_path / "other.nc")
    with pytest.raises(ConfigError, match="mspc: the MSPC model .* uses variables a, b, c, which are not tags"):
        Twin(make_binding(mspc=str(tmp_path / "other.nc")))
    with pytest.raises(ConfigError, match="mspc: .*no such file"):
        Twin(make_binding(mspc=str(tmp_path / "missing.nc")))
