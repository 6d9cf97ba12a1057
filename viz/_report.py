"""``twin report RESULT``: pick the report renderer for a result dataset, generic fallback.

Renderers are found by the dataset's kind, ``ds.wb.kind`` (one of
:data:`workbench.dataset.KINDS`; :func:`viz.result_kind` guesses from the layout only
for files written before kinds). A package-specific report module is listed in
:data:`RENDERERS` as ``"module:function"`` with an adapter to its signature; when that
module or function is missing (or the kind has none), the generic report is written.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import xarray as xr

from viz._data import is_trace_store, load_result, monitor_view, result_kind
from viz._format import plant_timezone, unit_label
from viz._html import render_report, report_inputs
from workbench.dataset import resolve_kind

__all__ = ["RENDERERS", "report_result", "generic_report"]

def _line(fn, ds, path):
    return fn({str(ds.attrs.get("scenario", "result")): ds}, path)


def _path_first(fn, ds, path):
    return fn(path, ds)


def _ds_first(fn, ds, path):
    return fn(ds, path)


def _life_policy(fn, ds, path):
    return fn(path, policy=ds, title=str(ds.attrs.get("scenario", "PM policy")))


def _life_fit(fn, ds, path):
    return fn(path, fit_plot=ds, title=f"life-data fit ({ds.attrs.get('distribution', '')})")


_LIFE = "viz.life_report:write_life_report"
_GOLDEN = "viz.golden_report:write_golden_report"

#: kind → [("module:function", adapter(fn, ds, path) -> Path)]; the first importable one wins.
#: Kinds not listed get the generic report (with the built-in figures of their kind).
RENDERERS: dict[str, list[tuple[str, object]]] = {
    "line-simulation": [("viz.line_report:write_line_report", _line)],
    "life-missions": [(_LIFE, _path_first)],
    "life-operation": [(_LIFE, _path_first)],
    "life-pm-policy": [(_LIFE, _life_policy)],
    "life-fit-plot": [(_LIFE, _life_fit)],
    "golden-batch-model": [(_GOLDEN, _ds_first)],
    "envelope": [(_GOLDEN, _ds_first)],
    "campaign": [("viz.campaign_report:write_campaign_report", _ds_first)],
    "mspc-model": [("viz.mspc_report:write_mspc_report", lambda fn, ds, path: fn(ds, None, path))],
    "mspc-check": [("viz.mspc_report:write_mspc_report", lambda fn, ds, path: fn(None, ds, path))],
}


def plant_local_time(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with a datetime ``time`` coordinate shown as wall-clock time in the plant's zone
    (``attrs['timezone']``; stored times are UTC), so figure axes read as the header says."""
    import datetime as dt

    import pandas as pd

    tz, _ = plant_timezone(ds.attrs)
    if tz is dt.UTC or "time" not in ds.coords or not np.issubdtype(ds["time"].dtype, np.datetime64):
        return ds
    local = pd.DatetimeIndex(ds["time"].values).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return ds.assign_coords(time=("time", local.values, {**ds["time"].attrs, "timezone": str(tz)}))


def _builtin_sections(ds: xr.Dataset, kind: str) -> list[tuple[str, object]]:
    from viz import _figures_live as fl
    from viz import _figures_results as fr

    sections: list[tuple[str, object]] = []
    ds = plant_local_time(ds)
    if kind in ("twin-trace", "line-twin-trace"):
        for tag in [str(t) for t in ds["tag"].values][:8]:
            sections.append((f"{tag}: real vs virtual", fl.trend_figure(ds, tag),
                             "The plant's measurement and the model's value; a gap that grows means the model "
                             "or the sensor drifts: check the alarms below."))
    elif kind in ("envelope", "golden-batch-model"):
        for v in [str(v) for v in ds["variable"].values][:8]:
            sections.append((f"envelope of {v}", fl.envelope_figure(ds, variable=v),
                             "The golden band over batch time; a batch outside it needs a look."))
    elif kind == "mspc":
        ds = monitor_view(ds)  # a monitor of several batches (online_t2, online_spe): the last one
        batch = f" of batch {ds.attrs['batch']}" if "batch" in ds.attrs else ""
        sections.append((f"T² and SPE{batch}", fl.mspc_figure(ds),
                         "Multivariate distance (T²) and model residual (SPE) against their limits; points "
                         "above a limit are out of the normal operating region: read the contributions."))
        if "t2_contribution" in ds:
            worst = int(np.nanargmax(ds["t2"].values))
            sections.append(("contributions at the largest T²", fl.contribution_figure(ds, worst),
                             "Which variables drive the largest T²: start the diagnosis there."))
    elif kind == "line-simulation":
        sections += [("KPIs", fr.kpi_ci_figure({str(ds.attrs.get("scenario", "result")): ds})),
                     ("work in process", fr.wip_figure({"result": ds})) if "wip_series" in ds else None,
                     ("machine states", fr.gantt_figure(ds)),
                     ("time by state", fr.state_fraction_figure(ds)) if "state_fraction" in ds else None]
    elif kind == "campaign":
        sections += [("history", fr.campaign_history_figure(ds)), ("Pareto front", fr.pareto_figure(ds)),
                     ("importances", fr.importance_figure(ds))]
    elif kind in ("life-missions", "life-operation"):
        if "reliability" in ds:
            sections.append(("reliability", fr.reliability_figure(ds)))
        if "availability" in ds:
            sections.append(("availability", fr.availability_figure(ds)))
        if "failure_time" in ds:
            sections.append(("Weibull plot", fr.weibull_plot(ds)))
    return [s for s in sections if s is not None]


def _alarm_section(ds: xr.Dataset) -> tuple[str, object, str] | None:
    """Alarm events of a twin trace (``attrs['alarm_events']``, JSON) as a table with ISO times."""
    import json

    raw = ds.attrs.get("alarm_events") or ds.attrs.get("alarms")
    if not raw:
        return None
    try:
        events = json.loads(raw) if isinstance(raw, str) else list(raw)
    except ValueError:
        return None
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        return None
    import pandas as pd

    return ("alarm events", pd.DataFrame(events),
            "Every alarm the twin raised (times in the plant's zone): check the tag and the residual at that time.")


def _mixed_units(ds: xr.Dataset, da: xr.DataArray) -> tuple[str, dict[str, str]] | None:
    """``(dim, label → unit)`` when one dim of ``da`` lists quantities with different units
    (``variable_units(variable)``, ``attrs['tag_units']``), else ``None``."""
    import json

    for dim in da.dims:
        units: dict[str, str] = {}
        if f"{dim}_units" in ds and ds[f"{dim}_units"].dims == (dim,):
            units = dict(zip(map(str, ds[dim].values), map(str, ds[f"{dim}_units"].values), strict=True))
        elif isinstance(ds.attrs.get(f"{dim}_units"), str):
            try:
                units = {str(k): str(v) for k, v in json.loads(ds.attrs[f"{dim}_units"]).items()}
            except (ValueError, AttributeError):
                units = {}
        if len(set(units.values())) > 1:
            return str(dim), units
    return None


def _small_multiples(ds: xr.Dataset, da: xr.DataArray, name: str, limit: int = 8):
    """One line panel per entry of the mixed-unit dim, each with its own unit on its y axis."""
    from plotly.subplots import make_subplots

    dim, units = _mixed_units(ds, da)
    other = next(d for d in da.dims if d != dim)
    keys = [str(k) for k in da[dim].values][:limit]
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True, vertical_spacing=0.03)
    x = da[other].values
    for i, k in enumerate(keys, start=1):
        fig.add_scatter(x=x, y=da.sel({dim: k}).values, mode="lines", name=k, row=i, col=1)
        fig.update_yaxes(title_text=f"{k} [{unit_label(units.get(k))}]", row=i, col=1)
    xu = unit_label(da[other].attrs.get("units")) if other in da.coords else "–"
    fig.update_xaxes(title_text=f"{other} [{xu}]", row=len(keys), col=1)
    fig.update_layout(height=120 + 170 * len(keys), title=f"{da.attrs.get('long_name', name)} per {dim}")
    return fig


def generic_report(ds: xr.Dataset, path: str | Path, *, title: str | None = None, kind: str | None = None) -> Path:
    """Report for any conforming dataset: known figures for its kind, then every variable.

    ``kind`` (default: :func:`viz.result_kind`) picks the known figures. Each variable gets a
    line plot (1-D), a heatmap of its own (2-D, at most 200 000 cells; one colour scale per
    variable, never shared across units) or a row in the contents table, labelled with
    ``long_name`` and ``units`` (dimensionless shown as ``–``).
    """
    import plotly.graph_objects as go

    kind = kind or result_kind(ds)
    sections = _builtin_sections(ds, kind)
    alarms = _alarm_section(ds)
    if alarms is not None:
        sections.append(alarms)
    rows = []
    for name, da in ds.data_vars.items():
        unit = unit_label(da.attrs.get("units"))
        label = f"{da.attrs.get('long_name', name)} [{unit}]"
        rows.append({"variable": name, "dims": " × ".join(f"{d}={ds.sizes[d]}" for d in da.dims) or "scalar",
                     "units": unit, "long_name": da.attrs.get("long_name", "")})
        if not np.issubdtype(da.dtype, np.number):
            continue
        what = f"{da.attrs.get('long_name', name)} as stored in the file (unit {unit})."
        if da.ndim == 1 and da.size > 3:
            x = da[da.dims[0]].values
            xu = unit_label(da[da.dims[0]].attrs.get("units")) if da.dims[0] in da.coords else "–"
            sections.append((f"{name}: {label}", go.Figure(go.Scatter(x=x, y=da.values, mode="lines", name=name))
                             .update_layout(xaxis_title=f"{da.dims[0]} [{xu}]", yaxis_title=label), what))
        elif da.ndim == 2 and 3 < da.size <= 200_000 and _mixed_units(ds, da) is not None:
            sections.append((f"{name}: {da.attrs.get('long_name', name)}", _small_multiples(ds, da, name),
                             f"{da.attrs.get('long_name', name)}, one panel per {_mixed_units(ds, da)[0]} "
                             "(their units differ, so they share no colour scale or axis)."))
        elif da.ndim == 2 and 3 < da.size <= 200_000:
            sections.append((f"{name}: {label}", go.Figure(go.Heatmap(
                z=da.values, x=[str(v) for v in da[da.dims[1]].values], y=[str(v) for v in da[da.dims[0]].values],
                colorbar={"title": {"text": label}})).update_layout(xaxis_title=da.dims[1], yaxis_title=da.dims[0]),
                what))
    from viz._html import table_html

    sections.insert(0, ("contents", table_html(rows, csv_name="contents"),
                        "The variables of the file with their dimensions and units."))
    title = title or f"{kind} result: {ds.attrs.get('scenario', '')}".strip(": ")
    return render_report(title, sections, path, subtitle=f"kind: {kind}",
                         attrs={k: v for k, v in ds.attrs.items() if k not in ("alarm_events", "alarms")}
                         if alarms is not None else dict(ds.attrs))


def report_result(result: str | Path | xr.Dataset, path: str | Path, *, kind: str | None = None) -> tuple[Path, str]:
    """Write the HTML report of a result file or dataset.

    Parameters
    ----------
    result
        NetCDF file, Zarr store (a twin trace too) or Dataset.
    path
        Output HTML file.
    kind
        Force a kind (a :data:`workbench.dataset.KINDS` name, a legacy name, or
        ``"generic"``) instead of reading ``ds.wb.kind``.

    Returns
    -------
    (pathlib.Path, str)
        The written report and the renderer used (``"module:function"`` or ``"generic"``).
    """
    inputs: list = []
    if isinstance(result, xr.Dataset):
        ds = result
    else:
        inputs.append(Path(result))
        p = Path(result)
        if is_trace_store(p):
            from twin import open_trace

            ds = open_trace(p)
        else:
            ds = load_result(p)
    if kind is None:
        kind = result_kind(ds)
    elif kind != "generic":
        kind = resolve_kind(kind, ds=ds, name="--kind")
    with report_inputs(inputs):
        for target, adapter in RENDERERS.get(kind, []):
            mod_name, _, fn_name = target.partition(":")
            try:
                fn = getattr(importlib.import_module(mod_name), fn_name)
            except (ImportError, AttributeError):
                continue
            try:
                return Path(adapter(fn, ds, path)), target
            except (KeyError, ValueError) as exc:  # dataset lacks what the specialised report needs
                return generic_report(ds, path, kind=kind), f"generic ({target} could not read it: {exc})"
        return generic_report(ds, path, kind=kind), "generic"
