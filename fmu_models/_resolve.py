"""Finding FMUs: one resolver for every config field that names an FMU.

:func:`resolve_fmu` turns what a user wrote (``fmu: reactor``, ``fmu: dryer.fmu``,
``fmu: ../plant/my_model.fmu``, ``fmu: fmu_models/build/reactor.fmu``) into an
existing file, in one documented order; :func:`shipped` is the path of a model
shipped with the workbench (built into ``fmu_models/build`` by ``twin fmu build``).
"""

from __future__ import annotations

from pathlib import Path

from fmu_models._build import BUILD_DIR
from fmu_models._spec import MODELS, load_spec
from workbench.errors import ConfigError, FmuError, did_you_mean

__all__ = ["resolve_fmu", "shipped", "shipped_names"]


def shipped_names() -> tuple[str, ...]:
    """Names of the shipped FMUs: every model, plus ``<model>3`` for its FMI 3.0 export."""
    names: list[str] = []
    for model in MODELS:
        names.append(model)
        if load_spec(model).fmi3:
            names.append(f"{model}3")
    return tuple(names)


def shipped(name: str, *, build: bool = False) -> Path:
    """Path of a shipped FMU in ``fmu_models/build``.

    Parameters
    ----------
    name
        ``"reactor"``, ``"reactor3"`` (FMI 3.0), ``"dryer"``, ``"degradation"``;
        a ``.fmu`` suffix is accepted.
    build
        Build the model first if the file is missing (a few seconds; needs gcc).

    Returns
    -------
    pathlib.Path
        ``fmu_models/build/<name>.fmu``. Without ``build=True`` the file may not
        exist yet (check ``.exists()``, or run ``twin fmu build``).

    Raises
    ------
    FmuError
        Unknown name (lists the shipped names with a did-you-mean).
    """
    stem = name[:-4] if name.endswith(".fmu") else name
    names = shipped_names()
    if stem not in names:
        raise FmuError(f"{name!r} is not a shipped FMU; {did_you_mean(stem, names)} "
                       f"(shipped: {', '.join(names)})")
    path = BUILD_DIR / f"{stem}.fmu"
    if build and not path.exists():
        from fmu_models._build import build as build_model

        fmi3 = stem not in MODELS
        build_model(stem[:-1] if fmi3 else stem, fmi_version=3 if fmi3 else 2)
    return path


def _shipped_candidate(p: Path) -> Path | None:
    """``fmu_models/build/<name>.fmu`` when ``p`` is a bare shipped name or points into that folder."""
    parts = p.parts
    bare = len(parts) == 1
    in_build = len(parts) >= 3 and parts[-3:-1] == ("fmu_models", "build")
    if not (bare or in_build):
        return None
    stem = p.name[:-4] if p.name.endswith(".fmu") else p.name
    if stem not in shipped_names():
        return None
    return BUILD_DIR / f"{stem}.fmu"


def resolve_fmu(name_or_path: str | Path, relative_to: str | Path | None = None, *,
                field: str | None = "fmu") -> Path:
    """Find an FMU named in a config or on the command line.

    Tries, in this order, and returns the first existing file (or extracted FMU folder):

    1. the path itself if absolute, else relative to ``relative_to`` (a config
       file, whose folder is used, or a folder);
    2. relative to the current working directory;
    3. a shipped FMU in ``fmu_models/build``, when the value is a bare name
       (``reactor``, ``reactor.fmu``) or a path into ``fmu_models/build``.

    Parameters
    ----------
    name_or_path
        What the user wrote.
    relative_to
        The config file (or folder) the value came from, if any.
    field
        Config field named in the error message.

    Returns
    -------
    pathlib.Path
        The resolved, absolute path.

    Raises
    ------
    ConfigError
        Nothing found: the message lists every place tried and the shipped
        names (with a did-you-mean), and says to run ``twin fmu build`` when a
        shipped FMU is not built yet.
    """
    p = Path(name_or_path).expanduser()
    candidates: list[Path] = []
    if p.is_absolute():
        candidates.append(p)
    else:
        if relative_to is not None:
            base = Path(relative_to).expanduser()
            if base.is_file() or (base.suffix and not base.is_dir()):
                base = base.parent  # a config file: its folder
            candidates.append(base / p)
        candidates.append(Path.cwd() / p)
    ship = None if p.is_absolute() else _shipped_candidate(p)
    if ship is not None:
        candidates.append(ship)
    for c in candidates:
        if c.exists():
            return c.resolve()
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    names = shipped_names()
    stem = p.name[:-4] if p.name.endswith(".fmu") else p.name
    if ship is not None:
        hint = f"the shipped FMU {stem!r} is not built yet; build the shipped models with `twin fmu build`"
    else:
        close = did_you_mean(stem, names)
        hint = (f"give the path of a .fmu file or the name of a shipped FMU ({', '.join(names)}; "
                "build them with `twin fmu build`)" + (f"; {close}" if close.startswith("did you mean") else ""))
    raise ConfigError(f'FMU "{name_or_path}" not found (looked in {tried}); {hint}',
                      source=None if relative_to is None or Path(relative_to).is_dir() else str(relative_to),
                      path=field)
