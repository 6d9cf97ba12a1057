"""Tour of the golden-batch package for ``twin demo``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_tour"]


def demo_tour(outdir: str | Path) -> list[Path]:
    """Build a golden-batch model from a synthetic history and check faulty batches.

    Writes ``golden_history.nc``, ``golden_envelope.nc`` and ``golden_check.csv``
    into ``outdir`` and returns their paths (runs in a few seconds).
    """
    from golden_batch import Aligner, GoldenBatchModel, make_synthetic_history
    from workbench.dataset import write_netcdf

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    history = make_synthetic_history(60, seed=1)
    model = GoldenBatchModel("yield >= 0.9 and impurity < 0.02", aligner=Aligner("dtw")).fit(history)
    p_hist = write_netcdf(history, out / "golden_history.nc")
    p_env = model.save(out / "golden_envelope.nc")
    test = make_synthetic_history(5, seed=2, faults={"cooling": 2, "sensor_bias": 2, "late_feed": 2})
    check = model.check(test)
    table = check.to_dataframe()
    table["fault"] = test["fault"].values
    p_check = out / "golden_check.csv"
    table.to_csv(p_check)
    return [p_hist, p_env, p_check]
