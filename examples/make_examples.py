"""Write the example input files the README and docs use (``examples/*.csv``).

    python examples/make_examples.py            # rewrites the files beside this script

Every file is reproducible from a fixed seed, except ``bearings_lieblein_zelen.csv``, which
is published data typed in (see below). The files are committed; this script documents where
they come from and regenerates them when a generator changes.

- ``bearings_lieblein_zelen.csv``: endurance of 23 deep-groove ball bearings, in millions of
  revolutions (Lieblein, J. and Zelen, M. (1956), "Statistical investigation of the fatigue
  life of deep-groove ball bearings", J. Res. Natl. Bur. Stand. 57(5), 273-316; the data set
  as reprinted in Lawless, J. F. (2003), *Statistical Models and Methods for Lifetime Data*,
  2nd ed., Example 1.1.1). Published Weibull MLE: shape 2.10, scale 81.9 (Lawless, Ex. 5.2.2).
- ``pump_seals.csv``: field returns of pump seals with suspensions and counts, in hours
  (simulated: Weibull shape 1.8, scale 9000 h, right-censored at random service ages, seed 7).
- ``pump_seals_r_coding.csv``: the same records coded as R's ``survival`` package codes
  them (status 1 = censored, 2 = failure), for ``--status-map 1=censored,2=failure``.
- ``reactor_history.csv``: a historian export of the emulated reactor plant
  (``scenarios/reactor_plant.yaml``, seed 11) over 4 h at its sample period, wide layout with
  ISO-8601 timestamps (UTC) and one column per tag.
- ``batch_history.csv`` and ``batch_quality.csv``: 40 batches of the synthetic batch plant
  (``golden_batch.make_synthetic_history``, seed 1) in the wide layout, with their quality.
- ``batch_0815.csv``: one batch with a cooling fault from 40 % of the batch on (seed 5).
- ``process_normal.csv`` and ``process_new.csv``: a continuous process, 8 tags driven by 3
  autocorrelated latent factors (``spc.make_process_data``, φ = 0.8, structure seed 20): one day
  of normal operation at 1 min (seed 21), and 4 h after it (seed 22) in which the
  ``reactor_temp`` sensor reads 3σ high from 02:00 on and three cells are missing.
- ``spc/softsensor_plant.csv``: 30 days of a continuous process at 1 h, six tags and a lab value
  ``quality`` every 4 h (``spc.make_softsensor_data``, seed 41, structure seed 40; the quality law is
  in its docstring).
- ``spc/grade_changes.csv``: 24 h of an extrusion line at 1 min: start-up ramp, grade A, B, A, B,
  shutdown ramp (change points at rows 90, 420, 720, 960, 1290; seed 51).
- ``r2r/cd_history.csv``: 30 lots of a display-fab photolithography step under EWMA run-to-run
  control (``r2r/cd_ewma.yaml``; simulated, seed 31): critical dimension CD = α + 0.004 µm·lot
  (resist ageing) + ξ b·(dose, develop_time) + N(0, 0.015 µm), true gains ξ = 1.1 times the
  model gains of the config, the first lot on target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Lieblein & Zelen (1956), 23 ball bearings, millions of revolutions to failure (all failed).
BEARINGS = [17.88, 28.92, 33.00, 41.52, 42.12, 45.60, 48.48, 51.84, 51.96, 54.12, 55.56, 67.80,
            68.64, 68.64, 68.88, 84.12, 93.12, 98.64, 105.12, 105.84, 127.92, 128.04, 173.40]


def bearings() -> pd.DataFrame:
    return pd.DataFrame({"time": BEARINGS, "status": "F"})


def pump_seals(seed: int = 7, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    life = 9000.0 * rng.weibull(1.8, n)
    service = rng.uniform(1000.0, 12000.0, n)
    failed = life <= service
    frame = pd.DataFrame({"time": np.round(np.where(failed, life, service), 0),
                          "status": np.where(failed, "F", "S")})
    return frame.groupby(["time", "status"], as_index=False).size().rename(columns={"size": "count"})


def reactor_history(seed: int = 11, hours: float = 4.0) -> pd.DataFrame:
    from twin.emulator import PlantEmulator, load_plant_scenario

    plant = PlantEmulator(load_plant_scenario(ROOT / "scenarios" / "reactor_plant.yaml"), seed=seed)
    t0 = pd.Timestamp("2026-03-02T06:00:00Z").timestamp()
    rows = []
    for frame in plant.frames(t0=t0):
        if frame.time - t0 > hours * 3600.0:
            break
        rows.append({"time": pd.Timestamp(frame.time, unit="s", tz="UTC").isoformat(),
                     **{tag: s.value for tag, s in frame.samples.items()}})
    return pd.DataFrame(rows)


def _wide(history) -> pd.DataFrame:
    tags = [v for v in history.data_vars if history[v].dims == ("batch", "sample") and v != "elapsed"]
    frame = history[["elapsed", *tags]].to_dataframe().reset_index().dropna(subset=["elapsed"])
    frame = frame.rename(columns={"batch": "batch_id"}).drop(columns="sample")
    return frame[["batch_id", "elapsed", *tags]].round(6)


def batches() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from golden_batch import make_synthetic_history

    history = make_synthetic_history(40, seed=1)
    quality = history[["yield", "impurity"]].to_dataframe().reset_index().rename(columns={"batch": "batch_id"})
    faulty = make_synthetic_history(1, seed=5, faults={"cooling": 1})
    one = _wide(faulty.isel(batch=[-1]))
    one["batch_id"] = "B0815"
    return _wide(history), quality.round(6), one


PROCESS_TAGS = ["feed_flow", "feed_temp", "reactor_temp", "jacket_temp", "pressure", "level", "product_flow",
                "coolant_flow"]


def process() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    from spc import make_process_data

    kw = {"n_variables": len(PROCESS_TAGS), "n_latent": 3, "phi": 0.8, "structure_seed": 20}
    normal = make_process_data(1440, seed=21, start="2026-03-02T00:00", **kw)
    new = make_process_data(240, seed=22, start="2026-03-03T00:00", **kw)
    normal.columns = new.columns = PROCESS_TAGS
    new.loc[new.index >= "2026-03-03T02:00", "reactor_temp"] += 3 * normal["reactor_temp"].std()
    for row, col in ((30, 1), (31, 1), (100, 6)):
        new.iloc[row, col] = np.nan
    fmt = {"index_label": "time", "date_format": "%Y-%m-%dT%H:%M:%SZ"}
    return normal.round(4), new.round(4), fmt


def r2r_lots(seed: int = 31, n: int = 30) -> pd.DataFrame:
    from optimization import R2RConfig, R2RController

    b = {"dose": -0.02, "develop_time": -0.01}  # as in r2r/cd_ewma.yaml
    cfg = R2RConfig(target=3.0, gains=b, lam=0.3, limits={"dose": (45.0, 65.0), "develop_time": (60.0, 80.0)},
                    gain_ratio=(0.7, 1.5))
    beta = 1.1 * np.array(list(b.values()))
    u = np.array([55.0, 70.0])
    alpha = 3.0 - float(beta @ u)
    rng = np.random.default_rng(seed)
    ctl = R2RController(cfg, offset0=3.0 - float(cfg.b @ u))
    rows = []
    for t in range(1, n + 1):
        cd = alpha + 0.004 * t + float(beta @ u) + 0.015 * rng.standard_normal()
        rows.append({"batch": f"L{t:03d}", "cd": round(cd, 4), "dose": round(u[0], 3), "develop_time": round(u[1], 3)})
        ctl.observe(rows[-1]["cd"], [rows[-1]["dose"], rows[-1]["develop_time"]])
        u = np.array(list(ctl.next_recipe().recipe.values()))
    return pd.DataFrame(rows)


def softsensor_plant() -> pd.DataFrame:
    """30 days of hourly process data with a lab quality value every 4 h (``spc.make_softsensor_data``)."""
    from spc import make_softsensor_data

    frame, _ = make_softsensor_data(30, seed=41, structure_seed=40, start="2026-04-01")
    return frame.round(4)


def grade_changes() -> pd.DataFrame:
    """A continuous line over 24 h at 1 min: start-up ramp, grade A, grade B, grade A, grade B, shutdown ramp."""
    rng = np.random.default_rng(51)
    plan = [("ramp", 90, None), ("A", 330, (182.0, 12.0, 0.92)), ("B", 300, (195.0, 16.5, 0.88)),
            ("A", 240, (182.0, 12.0, 0.92)), ("B", 330, (195.0, 16.5, 0.88)), ("ramp", 150, None)]
    rows, prev = [], (25.0, 0.0, 0.0)
    for i, (_, n, level) in enumerate(plan):
        if level is None:  # linear ramp from the previous level to the next one (or to cold at the end)
            nxt = plan[i + 1][2] if i + 1 < len(plan) else (25.0, 0.0, 0.0)
            rows.append(np.linspace(prev, nxt, n))
            prev = nxt
        else:
            rows.append(np.tile(level, (n, 1)))
            prev = level
    x = np.vstack(rows)
    e = rng.normal(size=x.shape) * [0.8, 0.25, 0.005]
    x = x + e
    index = pd.date_range("2026-05-04T00:00", periods=len(x), freq="1min", name="time")
    return pd.DataFrame(x, index=index, columns=["melt_temp", "screw_speed", "line_density"]).round(4)


def main() -> None:
    bearings().to_csv(HERE / "bearings_lieblein_zelen.csv", index=False)
    seals = pump_seals()
    seals.to_csv(HERE / "pump_seals.csv", index=False)
    seals.assign(status=seals["status"].map({"F": 2, "S": 1})).to_csv(HERE / "pump_seals_r_coding.csv", index=False)
    reactor_history().round(5).to_csv(HERE / "reactor_history.csv", index=False)
    history, quality, one = batches()
    history.to_csv(HERE / "batch_history.csv", index=False)
    quality.to_csv(HERE / "batch_quality.csv", index=False)
    one.to_csv(HERE / "batch_0815.csv", index=False)
    with pd.ExcelWriter(HERE / "batch_0815.xlsx", engine="openpyxl") as book:  # as batch records often come
        pd.DataFrame({"note": ["Batch record of batch 0815 (lost cooling from 40 % of the batch on).",
                               "Sheet 'record': one row per sample, as exported by the historian."]}).to_excel(
            book, sheet_name="notes", index=False)
        pd.read_csv(HERE / "batch_0815.csv").to_excel(book, sheet_name="record", index=False)  # the same values
    normal, new, fmt = process()
    normal.to_csv(HERE / "process_normal.csv", **fmt)
    new.to_csv(HERE / "process_new.csv", **fmt)
    r2r_lots().to_csv(HERE / "r2r" / "cd_history.csv", index=False)
    spc_examples()


def spc_examples() -> None:
    """The learning-from-history examples of docs/learning-from-history.md (``examples/spc/``)."""
    fmt = {"index_label": "time", "date_format": "%Y-%m-%dT%H:%M:%SZ"}
    softsensor_plant().to_csv(HERE / "spc" / "softsensor_plant.csv", **fmt)
    grade_changes().to_csv(HERE / "spc" / "grade_changes.csv", **fmt)


if __name__ == "__main__":
    main()
