"""``twin config validate|show|kinds``: check and display YAML configs."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from twin_app.cli._common import JSON_OPTION, console, print_json, print_table
from workbench.config import load_config, parse_override_args, resolve_config, validate_config
from workbench.errors import ConfigError

app = typer.Typer(help="Validate and show YAML configs (scenarios, bindings, campaigns, life models).",
                  no_args_is_help=True)

SET_OPTION = typer.Option(
    None, "--set", "-s", help="What-if override PATH=VALUE (repeatable), e.g. --set line.buffer.capacity=10."
)


def _model_and_kind(file: Path, kind: str | None, overrides: dict):
    from twin_app.configs import KINDS, model_for_kind

    resolved = resolve_config(file, overrides=overrides)
    found = resolved.data.get("kind")
    chosen = kind or found
    if chosen is None:
        raise ConfigError(
            "no 'kind:' field; add one (known kinds: "
            + (", ".join(sorted(KINDS)) or "none registered")
            + ") or pass --kind",
            source=str(file), line=1, column=1,
        )
    if not isinstance(chosen, str):
        mark = resolved.where(("kind",))
        raise ConfigError(f"{chosen!r} is not a kind name; use text such as kind: line",
                          source=str(file), line=mark and mark[1], column=mark and mark[2], path="kind")
    return model_for_kind(chosen, source=str(file)), chosen


def _validate_one(file: Path, kind: str | None, overrides: dict):
    """Validate one file and check its external references; return its kind and the config.

    Raises
    ------
    ConfigError
        The first problem, with every problem of the file listed in the message and ``.errors``.
    """
    from twin_app.configs import check_references

    model, chosen = _model_and_kind(file, kind, overrides)
    resolved = resolve_config(file, overrides=overrides)
    data = dict(resolved.data)
    if "kind" in data and "kind" not in model.model_fields:
        data.pop("kind")
    config = validate_config(data, model, resolved=resolved)
    problems = check_references(chosen, config, resolved)
    if problems:
        first, more = problems[0], problems[1:]
        text = first.message + "".join(f"\n  also {p}" for p in more)
        error = ConfigError(text, source=first.source, line=first.line, column=first.column, path=first.path)
        error.errors = problems
        raise error
    return chosen, config


@app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="YAML config files to check."),
    kind: str = typer.Option(None, "--kind", help="Config kind when the file has no 'kind:' field."),
    set_: list[str] = SET_OPTION,
    connect: bool = typer.Option(False, "--connect", help="Bindings: connect to their OPC UA server and check "
                                 "that every bound node exists (exit 2 naming each missing tag)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check configs: YAML, extends/overrides, every field, units, and what they name outside
    themselves (FMU file and variables, tag units, campaign metrics). Exit 2 if any file is bad."""
    overrides = parse_override_args(set_ or [])
    rows = []
    failed: ConfigError | None = None
    for file in files:
        try:
            chosen, cfg = _validate_one(file, kind, overrides)
            note = ""
            if connect:
                from twin_app.cli._connect_check import check_binding_nodes

                note = check_binding_nodes(file, cfg, chosen, overrides=overrides)
            rows.append({"file": str(file), "kind": chosen, "status": "ok", "message": note})
        except ConfigError as exc:
            rows.append({"file": str(file), "kind": kind or "", "status": "error", "message": str(exc)})
            failed = failed or exc
    if as_json:
        print_json(rows)
        if failed:
            raise typer.Exit(2)
    elif failed is None:
        for row in rows:
            console.print(f"[green]ok[/] {row['file']} (kind {row['kind']}{'; ' if row['message'] else ''}"
                          f"{row['message']})")
    else:
        for row in rows:
            if row["status"] == "ok":
                console.print(f"[green]ok[/] {row['file']} (kind {row['kind']})")
        if len(files) > 1:
            for row in rows:
                if row["status"] != "ok":
                    console.print(f"[red]error[/] {row['message']}", highlight=False)
            raise typer.Exit(2)
        raise failed


@app.command("show")
def show(
    file: Path = typer.Argument(..., help="YAML config file."),
    kind: str = typer.Option(None, "--kind", help="Config kind when the file has no 'kind:' field."),
    raw: bool = typer.Option(False, "--raw", help="Show the merged YAML without validating it."),
    set_: list[str] = SET_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the resolved config: extends merged, overrides applied, units converted to SI, defaults filled."""
    overrides = parse_override_args(set_ or [])
    if raw:
        data = resolve_config(file, overrides=overrides).data
    else:
        model, chosen = _model_and_kind(file, kind, overrides)
        data = {"kind": chosen, **load_config(file, model, overrides=overrides).model_dump(mode="json")}
    if as_json:
        print_json(data)
    else:
        console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), highlight=False,
                      markup=False)


@app.command("kinds")
def kinds(as_json: bool = JSON_OPTION) -> None:
    """List the config kinds this installation knows and the model that reads each."""
    from twin_app.configs import KINDS

    rows = [{"kind": k, "model": v} for k, v in sorted(KINDS.items())]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, title="config kinds", columns=["kind", "model"])
