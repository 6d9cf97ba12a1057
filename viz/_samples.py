"""Synthetic example datasets in the workbench layouts, for the view tests, benchmark and tour.

These are *inputs to the views*, clearly labelled synthetic (``attrs['synthetic'] = 1``):
a first-order process with noise tracked by a slightly biased model, a golden
envelope from simulated batches, a PCA monitor computed from reference data with
the golden-batch control limits, line, campaign and life results with the
producers' variable names. Numbers here are not results of the workbench models;
the views are tested on them because they know the truth (e.g. which tag has the
fault, which station is busiest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from workbench.dataset import add_provenance, write_netcdf

__all__ = ["write_trace", "append_trace", "monitor_dataset", "envelope_dataset", "line_result",
           "campaign_result", "life_result"]


def _signals(n: int, n_tags: int, rng: np.random.Generator, t0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(t0, t0 + n, dtype=float)
    base = 300.0 + 5.0 * np.sin(2 * np.pi * t[:, None] / 3600.0 + np.arange(n_tags)[None, :])
    virtual = base
    real = base + rng.normal(0.0, 0.2, (n, n_tags))
    return real, virtual


def write_trace(path: str | Path, *, n: int = 3600, n_tags: int = 4, fault_tag: int = 1, fault_start: int | None = None,
                seed: int = 0, start: str = "2026-01-01T00:00:00", flush_rows: int = 100_000) -> Path:
    """Write a twin trace store with :class:`twin.TraceStore` (1 Hz, datetime times).

    Tag ``fault_tag`` drifts away from the model after ``fault_start`` (default: at
    80 % of the run) and raises alarms; every 500th sample of tag 0 is flagged bad.
    """
    from twin import TraceStore

    rng = np.random.default_rng(seed)
    tags = [f"T{i}" if i < 2 else f"tag{i:02d}" for i in range(n_tags)]
    units = ["K" if i < 2 else "bar" for i in range(n_tags)]
    store = TraceStore(path, tags, units, time_kind="datetime", flush_interval=1e9, flush_rows=flush_rows, overwrite=True,
                       attrs={"scenario": "synthetic-trace", "synthetic": 1})
    append_trace(store, 0, n, n_tags=n_tags, fault_tag=fault_tag,
                 fault_start=int(0.8 * n) if fault_start is None else fault_start, rng=rng, start=start)
    store.close()
    return Path(path)


def trace_arrays(first: int, n: int, *, n_tags: int, fault_tag: int, fault_start: int,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows ``first … first+n-1`` of the synthetic trace as arrays (``real``, ``virtual``, …)."""
    real, virtual = _signals(n, n_tags, rng, first)
    k = np.arange(first, first + n)
    drift = np.where(k >= fault_start, 0.02 * (k - fault_start), 0.0)
    real[:, fault_tag] += np.minimum(drift, 6.0)
    resid = real - virtual
    alarm = np.zeros((n, n_tags), np.uint8)
    alarm[:, fault_tag] = (np.abs(resid[:, fault_tag]) > 1.5).astype(np.uint8)
    quality = np.zeros((n, n_tags), np.uint16)
    bad = (k % 500) == 0
    quality[bad, 0] = 1
    real[bad, 0] = np.nan
    resid[bad, 0] = np.nan
    return {"k": k, "real": real, "virtual": virtual, "residual": resid, "statistic": np.abs(resid) / 1.5,
            "alarm": alarm, "quality": quality}


def append_trace(store, first: int, n: int, *, n_tags: int, fault_tag: int, fault_start: int,
                 rng: np.random.Generator, start: str = "2026-01-01T00:00:00") -> None:
    """Append rows ``first … first+n-1`` to an open :class:`twin.TraceStore` and flush."""
    t0 = np.datetime64(start, "s").astype(np.int64)
    a = trace_arrays(first, n, n_tags=n_tags, fault_tag=fault_tag, fault_start=fault_start, rng=rng)
    for i in range(n):
        store.append(float(t0 + a["k"][i]), a["real"][i], a["virtual"][i], a["residual"][i], a["statistic"][i],
                     a["alarm"][i], a["quality"][i], 0.0)
    store.flush()


def trace_dataset(n: int, n_tags: int, *, fault_tag: int = 1, seed: int = 0,
                  start: str = "2026-01-01T00:00:00") -> xr.Dataset:
    """The synthetic trace as one Dataset in the :class:`twin.TraceStore` layout (for bulk writes)."""
    rng = np.random.default_rng(seed)
    a = trace_arrays(0, n, n_tags=n_tags, fault_tag=fault_tag, fault_start=int(0.8 * n), rng=rng)
    tags = [f"T{i}" if i < 2 else f"tag{i:02d}" for i in range(n_tags)]
    units = ["K" if i < 2 else "bar" for i in range(n_tags)]
    time = np.datetime64(start, "s") + a["k"].astype("timedelta64[s]")
    ds = xr.Dataset(
        {
            "value": (("time", "source", "tag"), np.stack([a["real"], a["virtual"]], axis=1),
                      {"units": "mixed", "long_name": "tag value"}),
            "residual": (("time", "tag"), a["residual"], {"units": "mixed", "long_name": "residual real - virtual"}),
            "statistic": (("time", "tag"), a["statistic"], {"units": "1", "long_name": "statistic / limit"}),
            "alarm": (("time", "tag"), a["alarm"], {"units": "1", "long_name": "alarm bits"}),
            "quality": (("time", "tag"), a["quality"], {"units": "1", "long_name": "data-quality flag bits"}),
            "gap": (("time",), np.zeros(n), {"units": "s", "long_name": "missing data before sample"}),
        },
        coords={"time": ("time", time, {"long_name": "time"}), "source": ["real", "virtual"], "tag": tags,
                "tag_unit": ("tag", units, {"long_name": "unit of each tag"})},
    )
    return add_provenance(ds, kind="twin-trace", scenario="synthetic-trace", seed=seed, synthetic=1)


def monitor_dataset(*, n_ref: int = 400, n: int = 120, n_vars: int = 5, fault_var: int = 2, fault_at: int = 80,
                    alpha: float = 0.01, seed: int = 1) -> xr.Dataset:
    """PCA monitor of a running batch: T², SPE with limits and per-variable contributions.

    A PCA with 2 components is fitted (SVD) on ``n_ref`` correlated reference
    samples; the monitored samples get a step of 4 σ on ``fault_var`` from
    ``fault_at`` on. Limits: T² phase II F-limit and the Box SPE limit from
    :func:`golden_batch.t2_limit` and :func:`golden_batch.spe_limit_box`; contributions as in ``BatchPCA.contributions``.
    """
    from golden_batch import spe_limit_box, t2_limit

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_ref + n, 2))
    mix = rng.normal(size=(2, n_vars))
    x = latent @ mix + 0.3 * rng.normal(size=(n_ref + n, n_vars))
    x[n_ref + fault_at:, fault_var] += 4.0 * x[:n_ref, fault_var].std()
    mu, sd = x[:n_ref].mean(0), x[:n_ref].std(0, ddof=1)
    z = (x - mu) / sd
    _, s, vt = np.linalg.svd(z[:n_ref], full_matrices=False)
    p = vt[:2]
    lam = s[:2] ** 2 / (n_ref - 1)
    scores = z @ p.T
    t2 = np.sum(scores**2 / lam, axis=1)
    resid = z - scores @ p
    spe = np.sum(resid**2, axis=1)
    c_t2 = z * ((scores / lam) @ p)
    t2_lim = t2_limit(alpha, 2, n_ref)
    spe_lim = spe_limit_box(spe[:n_ref], alpha)
    names = [f"x{j}" for j in range(n_vars)]
    sl = slice(n_ref, None)
    ds = xr.Dataset(
        {
            "t2": ("time", t2[sl], {"units": "1", "long_name": "Hotelling T²", "limit": t2_lim}),
            "spe": ("time", spe[sl], {"units": "1", "long_name": "squared prediction error", "limit": spe_lim}),
            "t2_contribution": (("time", "variable"), c_t2[sl], {"units": "1", "long_name": "contribution to T²"}),
            "spe_contribution": (("time", "variable"), resid[sl] ** 2, {"units": "1", "long_name": "contribution to SPE"}),
        },
        coords={"time": ("time", np.arange(n, dtype=float) * 10.0, {"units": "s", "long_name": "batch time"}),
                "variable": names},
    )
    return add_provenance(ds, scenario="synthetic-monitor", seed=seed, synthetic=1, kind="mspc")


def envelope_dataset(tags: list[str], *, duration: float = 3600.0, seed: int = 2) -> xr.Dataset:
    """Golden envelope of ``tags`` (mean ± 3σ of 20 simulated batches), ``Envelope.to_dataset`` layout."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, duration, 241)
    batches = np.stack([300.0 + 5.0 * np.sin(2 * np.pi * t[:, None] / 3600.0 + np.arange(len(tags))[None, :])
                        + rng.normal(0, 0.4, (1, len(tags))) + rng.normal(0, 0.2, (t.size, len(tags)))
                        for _ in range(20)])
    mean, std = batches.mean(0), batches.std(0, ddof=1)
    dims = ("time", "variable")
    ds = xr.Dataset(
        {
            "envelope_mean": (dims, mean, {"units": "1", "long_name": "golden mean trajectory"}),
            "envelope_std": (dims, std, {"units": "1", "long_name": "golden standard deviation"}),
            "envelope_lower": (dims, mean - 3 * std, {"units": "1", "long_name": "envelope lower bound"}),
            "envelope_upper": (dims, mean + 3 * std, {"units": "1", "long_name": "envelope upper bound"}),
            "variable_units": ("variable", np.array(["K"] * len(tags)), {"units": "1", "long_name": "units"}),
        },
        coords={"time": ("time", t, {"units": "s", "long_name": "aligned batch time"}), "variable": tags},
    )
    return add_provenance(ds, scenario="synthetic-envelope", seed=seed, synthetic=1, kind="envelope", envelope_k=3.0)


def line_result(utilisation: dict[str, float], *, replications: int = 5, seed: int = 3, wip_level: float = 6.0,
                name: str = "base") -> xr.Dataset:
    """Line result in the ``simulation.line.simulate`` layout with given station utilisations."""
    from scipy import stats as st

    rng = np.random.default_rng(seed)
    stations = list(utilisation)
    states = ["busy", "starved", "blocked", "down", "changeover", "maintenance", "off_shift"]
    line_kpis = {"throughput": "1/h", "lead_time": "h", "wip": "1"}
    kpis = list(line_kpis) + [f"utilisation[{s}]" for s in stations]
    base = {"throughput": 40.0 * min(utilisation.values()) / 0.5, "lead_time": 0.2 * wip_level / 6.0, "wip": wip_level}
    value = np.array([[base[k] * (1 + 0.03 * rng.normal()) for k in line_kpis]
                      + [float(np.clip(utilisation[s] + 0.01 * rng.normal(), 0, 1)) for s in stations]
                      for _ in range(replications)])
    frac = np.zeros((replications, len(stations), len(states)))
    for j in range(len(stations)):
        frac[:, j, 0] = value[:, 3 + j]
        frac[:, j, 1] = 1 - value[:, 3 + j]
    t = np.linspace(0, 8 * 3600.0, 97)
    wip = wip_level + rng.normal(0, 1.0, (replications, t.size))
    segs = []
    for s in stations:
        clock = 0.0
        while clock < 8 * 3600.0:
            busy = rng.exponential(600 * utilisation[s] + 1)
            idle = rng.exponential(600 * (1 - utilisation[s]) + 1)
            segs.append((s, 0, "busy", clock, clock + busy))
            segs.append((s, 0, "starved", clock + busy, clock + busy + idle))
            clock += busy + idle
    mean = value.mean(0)
    hw = st.t.ppf(0.975, replications - 1) * value.std(0, ddof=1) / np.sqrt(replications)
    ds = xr.Dataset(
        {
            "value": (("replication", "kpi"), value, {"units": "see kpi_units", "long_name": "KPI value per replication"}),
            "mean": ("kpi", mean, {"units": "see kpi_units", "long_name": "mean over replications"}),
            "std": ("kpi", value.std(0, ddof=1), {"units": "see kpi_units", "long_name": "standard deviation"}),
            "half_width": ("kpi", hw, {"units": "see kpi_units", "long_name": "half-width of the 95% t-interval"}),
            "ci": (("kpi", "bound"), np.c_[mean - hw, mean + hw], {"units": "see kpi_units", "long_name": "95% confidence interval"}),
            "state_fraction": (("replication", "station", "state"), frac, {"units": "1", "long_name": "fraction of machine time in state"}),
            "wip_series": (("replication", "time"), wip, {"units": "1", "long_name": "work in process"}),
            "buffer_level": (("replication", "station", "time"),
                             np.broadcast_to(np.array([2.0 * utilisation[s] for s in stations])[None, :, None],
                                             (replications, len(stations), t.size)).copy(),
                             {"units": "1", "long_name": "items in the station's input buffer"}),
            "gantt_station": ("segment", np.array([g[0] for g in segs]), {"units": "1", "long_name": "station"}),
            "gantt_server": ("segment", np.array([g[1] for g in segs]), {"units": "1", "long_name": "machine"}),
            "gantt_state": ("segment", np.array([g[2] for g in segs]), {"units": "1", "long_name": "state"}),
            "gantt_start": ("segment", np.array([g[3] for g in segs]), {"units": "s", "long_name": "segment start"}),
            "gantt_end": ("segment", np.array([g[4] for g in segs]), {"units": "s", "long_name": "segment end"}),
        },
        coords={"replication": np.arange(replications), "kpi": kpis, "station": stations, "state": states,
                "bound": ["low", "high"], "time": ("time", t, {"units": "s", "long_name": "time since start"}),
                "kpi_units": ("kpi", list(line_kpis.values()) + ["1"] * len(stations))},
    )
    return add_provenance(ds, scenario=name, seed=seed, synthetic=1, kind="line-simulation", confidence=0.95)


def campaign_result(*, n_trials: int = 60, seed: int = 4, envelope: xr.Dataset | None = None) -> xr.Dataset:
    """Two-objective campaign (cost vs batch time) over two recipe parameters, with importances."""
    rng = np.random.default_rng(seed)
    temp = rng.uniform(320, 360, n_trials)
    ramp = rng.uniform(0.5, 2.0, n_trials)
    batch_time = 7200 / ramp + 20 * (360 - temp) + rng.normal(0, 50, n_trials)
    energy = 0.5 * (temp - 300) * ramp + rng.normal(0, 1, n_trials)
    obj = np.c_[batch_time, energy]
    data = {
        "value": (("trial", "objective"), obj, {"units": "1", "long_name": "objective values"}),
        "param_temperature": ("trial", temp, {"units": "K", "long_name": "set-point temperature"}),
        "param_ramp": ("trial", ramp, {"units": "K/min", "long_name": "heating ramp"}),
        "importance": ("parameter", np.array([0.7, 0.3]), {"units": "1", "long_name": "fANOVA importance"}),
    }
    coords = {"trial": np.arange(n_trials), "objective": ["batch_time", "energy"], "parameter": ["ramp", "temperature"]}
    ds = xr.Dataset(data, coords=coords)
    if envelope is not None:
        var = str(envelope["variable"].values[0])
        best = envelope["envelope_mean"].sel(variable=var) + 0.5 * envelope["envelope_std"].sel(variable=var)
        ds[f"best_{var}"] = best.drop_vars("variable").assign_attrs(units="K", long_name="best recipe trajectory")
    return add_provenance(ds, scenario="synthetic-campaign", seed=seed, synthetic=1, kind="campaign")


def life_result(*, shape: float = 1.8, scale_h: float = 12000.0, n_fail: int = 30, seed: int = 5) -> xr.Dataset:
    """Reliability result: Weibull R(t) with Wilson-like bounds, availability and failure data."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 3 * scale_h * 3600, 200)
    r = np.exp(-((t / (scale_h * 3600)) ** shape))
    n = 500
    half = 1.96 * np.sqrt(r * (1 - r) / n)
    rel = np.stack([r, np.clip(r - half, 0, 1), np.clip(r + half, 0, 1)])
    avail = 0.97 + 0.02 * np.exp(-t / (scale_h * 3600))
    av = np.stack([avail, avail - 0.005, np.minimum(avail + 0.005, 1)])
    fails = scale_h * 3600 * rng.weibull(shape, n_fail)
    ds = xr.Dataset(
        {
            "reliability": (("bound", "time"), rel, {"units": "1", "long_name": "system reliability R(t)"}),
            "availability": (("bound", "time"), av, {"units": "1", "long_name": "point availability A(t)"}),
            "mean_availability": ("bound", np.array([av[0].mean(), av[1].mean(), av[2].mean()]),
                                  {"units": "1", "long_name": "mean availability"}),
            "failure_time": ("sample", fails, {"units": "s", "long_name": "observed failure times"}),
            "censored": ("sample", np.zeros(n_fail, np.int8), {"units": "1", "long_name": "right-censored"}),
        },
        coords={"time": ("time", t, {"units": "s", "long_name": "operating time"}),
                "bound": ["estimate", "lower", "upper"]},
    )
    return add_provenance(ds, scenario="synthetic-life", seed=seed, synthetic=1, kind="life-operation", confidence=0.95,
                          report_unit="h", weibull_shape=shape, weibull_scale=scale_h * 3600)


def write_all(outdir: str | Path, *, trace_rows: int = 3600) -> dict[str, Path]:
    """Write every example dataset into ``outdir``; returns name → path."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trace": write_trace(out / "trace.zarr", n=trace_rows)}
    env = envelope_dataset(["T0", "T1"])
    paths["envelope"] = write_netcdf(env, out / "envelope.nc")
    paths["monitor"] = write_netcdf(monitor_dataset(), out / "monitor.nc")
    paths["line_base"] = write_netcdf(line_result({"cut": 0.45, "weld": 0.92, "paint": 0.6, "pack": 0.3}), out / "line_base.nc")
    paths["line_buffer"] = write_netcdf(line_result({"cut": 0.5, "weld": 0.8, "paint": 0.7, "pack": 0.35}, seed=7,
                                                    wip_level=8.0, name="bigger-buffer"), out / "line_buffer.nc")
    paths["campaign"] = write_netcdf(campaign_result(envelope=env), out / "campaign.nc")
    paths["life"] = write_netcdf(life_result(), out / "life.nc")
    return paths
