"""``twin fmu build|list|info|run``: build the shipped FMUs, inspect and run any FMU."""

from __future__ import annotations

from pathlib import Path

import typer

from twin_app.cli._common import JSON_OPTION, console, print_json, print_table
from workbench.errors import ConfigError, FmuError

app = typer.Typer(help="Build the shipped physics FMUs; inspect and run any FMI 2.0/3.0 FMU.",
                  no_args_is_help=True)


def _build_dir() -> Path:
    import fmu_models

    return Path(fmu_models.BUILD_DIR)


@app.command("build")
def build(
    force: bool = typer.Option(False, "--force", help="Rebuild even if the FMUs are up to date."),
    out_dir: Path = typer.Option(None, "--out-dir", help="Target folder (default fmu_models/build)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Compile every shipped model with gcc into FMUs, plus the runtime's C stepper."""
    import fmu_models

    build_all = getattr(fmu_models, "build_all", None)
    if build_all is None:
        raise FmuError("fmu_models.build_all is not available in this installation; the model build is missing")
    built = build_all(out_dir=out_dir, force=force)
    stepper = fmu_models.build_stepper(out_dir or _build_dir(), force=force)
    paths = [Path(p) for p in (built.values() if isinstance(built, dict) else (built or []))] + [stepper]
    rows = [{"file": str(p), "size [kB]": round(p.stat().st_size / 1024, 1)} for p in paths]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, title="built")


@app.command("list")
def list_fmus(
    folder: Path = typer.Option(None, "--dir", help="Folder to list (default fmu_models/build)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the FMUs in the build folder: model, FMI version, interfaces, GUID."""
    from fmu_models import describe_fmu

    folder = folder or _build_dir()
    rows = []
    for path in sorted(folder.glob("*.fmu")) if folder.exists() else []:
        try:
            info = describe_fmu(path)
        except FmuError as exc:
            rows.append({"file": path.name, "model": "?", "fmi": "?", "interfaces": "", "guid": str(exc)})
            continue
        rows.append({
            "file": path.name, "model": info.model_name, "fmi": info.fmi_version,
            "interfaces": ", ".join(info.interfaces), "variables": len(info.variables), "guid": info.guid,
        })
    if as_json:
        print_json(rows)
    elif rows:
        print_table(rows, title=str(folder))
    else:
        console.print(f"no FMUs in {folder}; run [bold]twin fmu build[/]")


@app.command("info")
def info(
    file: Path = typer.Argument(..., help="An .fmu file (any FMI 2.0/3.0 FMU) or extracted FMU folder."),
    causality: str = typer.Option(None, "--causality",
                                  help="Only variables of this causality (parameter, input, output, local)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show an FMU's identity, interfaces and capabilities, and its variables with units and start values."""
    from fmu_models import describe_fmu

    desc = describe_fmu(file)
    variables = [v for v in desc.variables if causality is None or v.causality == causality]
    if as_json:
        data = desc.as_dict()
        data["variables"] = [v for v in data["variables"] if causality is None or v["causality"] == causality]
        print_json(data)
        return
    console.print(f"[bold]{desc.model_name}[/]  FMI {desc.fmi_version}  {desc.path}")
    if desc.description:
        console.print(desc.description, highlight=False)
    console.print(f"GUID/instantiation token: {desc.guid}")
    console.print(f"platforms: {', '.join(desc.platforms) or '-'}   continuous states: "
                  f"{desc.number_of_continuous_states}   event indicators: {desc.number_of_event_indicators}")
    exp = {k: v for k, v in desc.default_experiment.items() if v is not None}
    if exp:
        console.print("default experiment: " + ", ".join(
            f"{k} = {v:g}" + ("" if k == "tolerance" else " s") for k, v in exp.items()))
    caps = sorted({k for c in desc.interfaces.values() for k in c})
    caps.remove("model_identifier")
    print_table(
        [{"capability": "model_identifier", **{n: c["model_identifier"] for n, c in desc.interfaces.items()}}]
        + [{"capability": k, **{n: c.get(k, "-") for n, c in desc.interfaces.items()}} for k in caps],
        title="interfaces and capabilities", columns=["capability", *desc.interfaces],
    )
    print_table(
        [{"name": v.name, "causality": v.causality, "variability": v.variability, "type": v.type,
          "units": v.units, "start": v.start or "", "description": v.description} for v in variables],
        title=f"variables ({len(variables)})",
        columns=["name", "causality", "variability", "type", "units", "start", "description"],
    )


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``NAME=VALUE`` texts by name; the values are parsed later by each variable's declared type."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{what} {pair!r}: use NAME=VALUE, e.g. {what} T_jacket_in=290")
        out[name.strip()] = value
    return out


def _plain(value: object) -> object:
    """A NumPy scalar as a Python int/bool/float (integers stay exact)."""
    return value.item() if hasattr(value, "item") else value


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="The .fmu file to simulate."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Parameter NAME=VALUE (repeatable)."),
    input_: list[str] = typer.Option(None, "--input", "-i", help="Constant input NAME=VALUE (repeatable)."),
    start_time: str = typer.Option(None, "--start-time", help="Start time, e.g. 0 or '0 s'."),
    stop_time: str = typer.Option(None, "--stop-time", help="Stop time, e.g. 28800 or '8 h'."),
    output_interval: str = typer.Option(None, "--output-interval", help="Recording interval, e.g. '10 s'."),
    interface: str = typer.Option("cs", "--interface", help="cs (co-simulation) or me (model exchange, CVode)."),
    out: Path = typer.Option(None, "--out", help="Write the result to this NetCDF file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Simulate an FMU once and print the final value of every output (with units)."""
    from fmu_models import FmuModel
    from workbench.dataset import write_netcdf

    def seconds(text: str | None) -> float | str | None:
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            return text

    with FmuModel(file, interface=interface) as model:
        parameters = model.parse_values(_parse_pairs(param, "--param"))
        inputs = model.parse_values(_parse_pairs(input_, "--input"), role="input")
        ds = model.run(parameters=parameters, inputs=inputs, start_time=seconds(start_time),
                       stop_time=seconds(stop_time), output_interval=seconds(output_interval))
    if out is not None:
        write_netcdf(ds, out)
    rows = [{"output": name, "final value": _plain(ds[name].values[-1]), "units": ds[name].attrs["units"],
             "min": _plain(ds[name].values.min()), "max": _plain(ds[name].values.max())} for name in ds.data_vars]
    note = ds.attrs.get("note")
    if as_json:
        print_json({"time_s": [float(ds.time[0]), float(ds.time[-1])], "outputs": rows,
                    "terminated_at": ds.attrs.get("terminated_at"), "file": None if out is None else str(out)})
        return
    if not rows:
        console.print(f"{file.name} has no outputs of a recordable type; name variables with the Python API "
                      "(FmuModel.run(outputs=[...]))")
    else:
        print_table(rows, title=f"{file.name}: t = {float(ds.time[0]):g} … {float(ds.time[-1]):g} s, "
                                f"{ds.sizes['time']} points")
    if note:
        console.print(f"note: {note}", highlight=False)
    if out is not None:
        console.print(f"wrote {out}")
