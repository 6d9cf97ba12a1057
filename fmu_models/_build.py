"""Build the shipped models into FMUs with gcc.

For every model in :data:`MODELS` the variable table ``<model>/model.toml`` is
rendered into ``modelDescription.xml`` (FMI 2.0, Model Exchange + Co-Simulation
in one FMU; and FMI 3.0 for models with ``fmi3 = true``) and into the C header
``model_vars.h``; the C sources of the model and of ``common/`` are compiled
against FMPy's FMI headers (``fmpy/c-code``) into a shared library and zipped.

A build is skipped when the SHA-256 of every input (sources, table, this file,
FMPy's headers, the gcc version) matches the stamp written beside the FMU, so
``make setup`` costs seconds when nothing changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
from contextlib import contextmanager
from pathlib import Path

from fmu_models._spec import MODELS, MODELS_DIR, ModelSpec, Variable, load_spec
from workbench.errors import FmuError, did_you_mean

__all__ = ["BUILD_DIR", "MODELS", "build", "build_all"]

BUILD_DIR = MODELS_DIR / "build"
COMMON_DIR = MODELS_DIR / "common"
GENERATOR = "twin workbench fmu_models._build"

# unit -> (FMI BaseUnit exponents, [(display unit, factor, offset)])
# display value = factor * value + offset (FMI 2.0 sec. 2.2.2, FMI 3.0 sec. 2.4.3)
_UNITS: dict[str, tuple[dict[str, int], list[tuple[str, float, float]]]] = {
    "K": ({"K": 1}, [("degC", 1.0, -273.15)]),
    "K/s": ({"K": 1, "s": -1}, [("K/min", 60.0, 0.0)]),
    "K.s": ({"K": 1, "s": 1}, []),
    "s": ({"s": 1}, [("min", 1 / 60, 0.0), ("h", 1 / 3600, 0.0)]),
    "m": ({"m": 1}, [("mm", 1000.0, 0.0)]),
    "m2": ({"m": 2}, []),
    "m3": ({"m": 3}, [("L", 1000.0, 0.0)]),
    "m3/s": ({"m": 3, "s": -1}, [("m3/h", 3600.0, 0.0), ("L/min", 60000.0, 0.0)]),
    "mol": ({"mol": 1}, [("kmol", 1e-3, 0.0)]),
    "mol/s": ({"mol": 1, "s": -1}, [("mol/h", 3600.0, 0.0)]),
    "mol/m3": ({"mol": 1, "m": -3}, [("mol/L", 1e-3, 0.0)]),
    "mol/(m3.s)": ({"mol": 1, "m": -3, "s": -1}, []),
    "m3/(mol.s)": ({"m": 3, "mol": -1, "s": -1}, [("L/(mol.s)", 1000.0, 0.0)]),
    "1/s": ({"s": -1}, [("1/h", 3600.0, 0.0)]),
    "W": ({"kg": 1, "m": 2, "s": -3}, [("kW", 1e-3, 0.0)]),
    "J": ({"kg": 1, "m": 2, "s": -2}, [("kJ", 1e-3, 0.0), ("MJ", 1e-6, 0.0)]),
    "W/K": ({"kg": 1, "m": 2, "s": -3, "K": -1}, [("kW/K", 1e-3, 0.0)]),
    "W/(m2.K)": ({"kg": 1, "s": -3, "K": -1}, []),
    "m2.K/W": ({"kg": -1, "s": 3, "K": 1}, []),
    "J/(m3.K)": ({"kg": 1, "m": -1, "s": -2, "K": -1}, []),
    "J/mol": ({"kg": 1, "m": 2, "s": -2, "mol": -1}, [("kJ/mol", 1e-3, 0.0)]),
    "J/(kg.K)": ({"m": 2, "s": -2, "K": -1}, [("kJ/(kg.K)", 1e-3, 0.0)]),
    "J/kg": ({"m": 2, "s": -2}, [("kJ/kg", 1e-3, 0.0)]),
    "kg": ({"kg": 1}, []),
    "kg/s": ({"kg": 1, "s": -1}, [("kg/h", 3600.0, 0.0)]),
    "kg/kg": ({}, [("g/kg", 1000.0, 0.0)]),
    "Pa": ({"kg": 1, "m": -1, "s": -2}, [("kPa", 1e-3, 0.0), ("bar", 1e-5, 0.0)]),
    "rad/s": ({"rad": 1, "s": -1}, [("rpm", 60.0 / (2.0 * 3.141592653589793), 0.0)]),
    "mm/s": ({"m": 1, "s": -1}, []),  # factor handled below
    "mm/s2": ({"m": 1, "s": -2}, []),
    "N": ({"kg": 1, "m": 1, "s": -2}, [("kN", 1e-3, 0.0)]),
}
_UNIT_FACTOR = {"mm/s": 1e-3, "mm/s2": 1e-3}

_KIND = {"time": 0, "fixed": 1, "tunable": 2, "input": 3, "state": 4, "output": 5,
         "derivative": 6, "discrete": 7}


# ------------------------------------------------------------------ variables
class _Var:
    """A variable with its value reference, as laid out in the FMU."""

    def __init__(self, vr: int, name: str, type_: str, causality: str, variability: str,
                 initial: str | None, unit: str | None, start, description: str,
                 kind: int, derivative_of: _Var | None = None, nominal: float | None = None):
        self.vr, self.name, self.type, self.causality = vr, name, type_, causality
        self.variability, self.initial, self.unit, self.start = variability, initial, unit, start
        self.description, self.kind, self.derivative_of = description, kind, derivative_of
        self.nominal = nominal


def _layout(spec: ModelSpec) -> list[_Var]:
    """Value references: 0 = time, 1..N = table order, then der(x) for every state."""
    out = [_Var(0, "time", "Real", "independent", "continuous", None, "s", None,
                "Simulation time", _KIND["time"])]
    by_name: dict[str, _Var] = {}
    for v in spec.variables:
        out.append(_make_var(len(out), v))
        by_name[v.name] = out[-1]
    for v in spec.states:
        st = by_name[v.name]
        out.append(_Var(len(out), f"der({v.name})", "Real", "local", "continuous", "calculated",
                        v.der_unit, None, f"Time derivative of {v.name}", _KIND["derivative"],
                        derivative_of=st))
    for i in range(spec.event_indicators):
        out.append(_Var(len(out), f"event_indicator_{i + 1}", "Real", "local", "continuous",
                        "calculated", None, None, f"Event indicator {i + 1} (state event when it "
                        "changes sign)", _KIND["output"]))
    return out


def _make_var(vr: int, v: Variable) -> _Var:
    if v.causality == "parameter":
        if v.start is None:
            raise FmuError(f"parameter {v.name!r} needs a start value")
        return _Var(vr, v.name, v.type, "parameter", v.variability, "exact", v.unit, v.start,
                    v.description, _KIND["fixed" if v.variability == "fixed" else "tunable"])
    if v.causality == "input":
        if v.start is None:
            raise FmuError(f"input {v.name!r} needs a start value")
        return _Var(vr, v.name, v.type, "input", v.variability, None, v.unit, v.start,
                    v.description, _KIND["input"])
    if v.state:
        return _Var(vr, v.name, "Real", v.causality, "continuous", "calculated", v.unit, None,
                    v.description, _KIND["state"], nominal=v.nominal)
    kind = _KIND["discrete"] if v.variability == "discrete" else _KIND["output"]
    return _Var(vr, v.name, v.type, v.causality, v.variability, "calculated", v.unit, None,
                v.description, kind)


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value))


# ------------------------------------------------------------ C header output
def _c_ident(name: str) -> str:
    return name.replace("(", "_").replace(")", "").replace(".", "_")


def render_header(spec: ModelSpec, token: str) -> str:
    """C header ``model_vars.h`` with value references and tables."""
    vs = _layout(spec)
    states = [v for v in vs if v.kind == _KIND["state"]]
    ders = [v for v in vs if v.kind == _KIND["derivative"]]
    lines = [
        "/* Generated by fmu_models/_build.py from model.toml -- do not edit. */",
        "#ifndef MODEL_VARS_H", "#define MODEL_VARS_H",
        f'#define MODEL_NAME "{spec.name}"',
        f'#define INSTANTIATION_TOKEN "{token}"',
        f"#define NVR {len(vs)}",
        f"#define NX {len(states)}",
        f"#define NZ {spec.event_indicators}",
    ]
    for v in vs[1:]:
        lines.append(f"#define VR_{_c_ident(v.name)} {v.vr}")
    for i, v in enumerate(states):
        lines.append(f"#define IX_{v.name} {i}")
    start = [(_fmt(v.start).replace("true", "1.0").replace("false", "0.0")
              if v.start is not None else "0.0") for v in vs]
    lines.append("static const double START_VALUES[NVR] = {" + ", ".join(start) + "};")
    lines.append("static const unsigned char VAR_KIND[NVR] = {"
                 + ", ".join(str(v.kind) for v in vs) + "};")
    lines.append("static const unsigned char VAR_TYPE[NVR] = {"
                 + ", ".join("1" if v.type == "Boolean" else "0" for v in vs) + "};")
    lines.append("static const char *const VAR_NAME[NVR] = {"
                 + ", ".join(f'"{v.name}"' for v in vs) + "};")
    lines.append("static const unsigned int STATE_VR[NX] = {"
                 + ", ".join(str(v.vr) for v in states) + "};")
    lines.append("static const unsigned int DER_VR[NX] = {"
                 + ", ".join(str(v.vr) for v in ders) + "};")
    zs = [v for v in vs if v.name.startswith("event_indicator_")]
    if zs:
        lines.append("static const unsigned int Z_VR[NZ] = {"
                     + ", ".join(str(v.vr) for v in zs) + "};")
    lines.append("static const double STATE_NOMINAL[NX] = {"
                 + ", ".join(_fmt(v.nominal or 1.0) for v in states) + "};")
    lines += ["#endif", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------- XML output
def _default_experiment(root, spec) -> None:
    """``<DefaultExperiment>`` from the model table's stop time and step size (FMI 2 and 3 alike)."""
    extra = spec_extra(spec)
    ET.SubElement(root, "DefaultExperiment", {
        "startTime": "0.0", "stopTime": repr(float(extra["stop_time"])),
        "tolerance": "1e-06", "stepSize": repr(float(extra["step_size"]))})


def _unit_definitions(parent: ET.Element, vs: list[_Var]) -> None:
    used = sorted({v.unit for v in vs if v.unit})
    if not used:
        return
    defs = ET.SubElement(parent, "UnitDefinitions")
    for u in used:
        if u not in _UNITS:
            raise FmuError(f"unit {u!r} has no definition in fmu_models/_build.py; "
                           f"known units: {', '.join(sorted(_UNITS))}")
        exps, displays = _UNITS[u]
        el = ET.SubElement(defs, "Unit", name=u)
        attrs = {k: str(e) for k, e in exps.items()}
        if u in _UNIT_FACTOR:
            attrs["factor"] = repr(_UNIT_FACTOR[u])
        ET.SubElement(el, "BaseUnit", attrs)
        for name, factor, offset in displays:
            d = {"name": name}
            if factor != 1.0:
                d["factor"] = repr(factor)
            if offset != 0.0:
                d["offset"] = repr(offset)
            ET.SubElement(el, "DisplayUnit", d)


def _initial_unknowns(vs: list[_Var]) -> list[_Var]:
    out = []
    for v in vs:
        if v.causality == "output" and v.initial in {"calculated", "approx"}:
            out.append(v)
        elif v.kind in (_KIND["state"], _KIND["derivative"]) and v.initial == "calculated":
            out.append(v)
    return sorted(set(out), key=lambda v: v.vr)


def render_fmi2(spec: ModelSpec, token: str, sources: list[str]) -> str:
    """``modelDescription.xml`` for FMI 2.0 (ME + CS)."""
    vs = _layout(spec)[1:]  # FMI 2 has no independent variable entry here
    index = {v.vr: i + 1 for i, v in enumerate(vs)}
    root = ET.Element("fmiModelDescription", {
        "fmiVersion": "2.0", "modelName": spec.name, "guid": token,
        "description": spec.description, "generationTool": GENERATOR,
        "variableNamingConvention": "structured",
        "numberOfEventIndicators": str(spec.event_indicators),
    })
    common = {"modelIdentifier": spec.name, "canGetAndSetFMUstate": "true",
              "canSerializeFMUstate": "true", "canNotUseMemoryManagementFunctions": "true"}
    me = ET.SubElement(root, "ModelExchange", {**common,
                                               "completedIntegratorStepNotNeeded": "false"})
    cs = ET.SubElement(root, "CoSimulation", {**common,
                                               "canHandleVariableCommunicationStepSize": "true"})
    for kind in (me, cs):
        sf = ET.SubElement(kind, "SourceFiles")
        for s in sources:
            if s.endswith(".c"):
                ET.SubElement(sf, "File", name=s)
    _unit_definitions(root, vs)
    _default_experiment(root, spec)
    mv = ET.SubElement(root, "ModelVariables")
    for v in vs:
        attrs = {"name": v.name, "valueReference": str(v.vr), "description": v.description,
                 "causality": v.causality, "variability": v.variability}
        if v.initial and v.causality != "input":
            attrs["initial"] = v.initial
        sv = ET.SubElement(mv, "ScalarVariable", attrs)
        t = {}
        if v.type == "Real" and v.unit:
            t["unit"] = v.unit
        if v.start is not None:
            t["start"] = _fmt(v.start)
        if v.derivative_of is not None:
            t["derivative"] = str(index[v.derivative_of.vr])
        if v.nominal is not None:
            t["nominal"] = _fmt(v.nominal)
        ET.SubElement(sv, v.type, t)
    ms = ET.SubElement(root, "ModelStructure")
    outs = [v for v in vs if v.causality == "output"]
    if outs:
        el = ET.SubElement(ms, "Outputs")
        for v in outs:
            ET.SubElement(el, "Unknown", index=str(index[v.vr]))
    ders = [v for v in vs if v.derivative_of is not None]
    if ders:
        el = ET.SubElement(ms, "Derivatives")
        for v in ders:
            ET.SubElement(el, "Unknown", index=str(index[v.vr]))
    ini = _initial_unknowns(vs)
    if ini:
        el = ET.SubElement(ms, "InitialUnknowns")
        for v in ini:
            ET.SubElement(el, "Unknown", index=str(index[v.vr]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_fmi3(spec: ModelSpec, token: str) -> str:
    """``modelDescription.xml`` for FMI 3.0 (ME + CS)."""
    vs = _layout(spec)
    root = ET.Element("fmiModelDescription", {
        "fmiVersion": "3.0", "modelName": spec.name, "instantiationToken": token,
        "description": spec.description, "generationTool": GENERATOR,
        "variableNamingConvention": "structured",
    })
    common = {"modelIdentifier": spec.name, "canGetAndSetFMUState": "true",
              "canSerializeFMUState": "true"}
    ET.SubElement(root, "ModelExchange", {**common, "needsCompletedIntegratorStep": "true"})
    ET.SubElement(root, "CoSimulation", {**common,
                                          "canHandleVariableCommunicationStepSize": "true",
                                          "hasEventMode": "false"})
    _unit_definitions(root, vs)
    _default_experiment(root, spec)
    mv = ET.SubElement(root, "ModelVariables")
    for v in vs:
        tag = "Float64" if v.type == "Real" else "Boolean"
        attrs = {"name": v.name, "valueReference": str(v.vr), "description": v.description,
                 "causality": v.causality, "variability": v.variability}
        if v.initial and v.causality not in {"input", "independent"}:
            attrs["initial"] = v.initial
        if v.type == "Real" and v.unit:
            attrs["unit"] = v.unit
        if v.start is not None:
            attrs["start"] = _fmt(v.start)
        if v.derivative_of is not None:
            attrs["derivative"] = str(v.derivative_of.vr)
        if v.nominal is not None:
            attrs["nominal"] = _fmt(v.nominal)
        ET.SubElement(mv, tag, attrs)
    ms = ET.SubElement(root, "ModelStructure")
    for v in vs:
        if v.causality == "output":
            ET.SubElement(ms, "Output", valueReference=str(v.vr))
    for v in vs:
        if v.derivative_of is not None:
            ET.SubElement(ms, "ContinuousStateDerivative", valueReference=str(v.vr))
    for v in _initial_unknowns(vs):
        ET.SubElement(ms, "InitialUnknown", valueReference=str(v.vr))
    for v in vs:
        if v.name.startswith("event_indicator_"):
            ET.SubElement(ms, "EventIndicator", valueReference=str(v.vr))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def spec_extra(spec: ModelSpec) -> dict:
    """``[model]`` table keys beyond the standard ones (default experiment)."""
    import tomllib

    with spec.path.open("rb") as fh:
        model = tomllib.load(fh)["model"]
    return {"stop_time": model.get("stop_time", 3600.0), "step_size": model.get("step_size", 10.0)}


# ---------------------------------------------------------------------- build
def _fmpy_include() -> Path:
    import fmpy

    return Path(fmpy.__file__).parent / "c-code"


def _sources(name: str) -> list[Path]:
    model_dir = MODELS_DIR / name
    files = sorted(model_dir.glob("*.c")) + sorted(model_dir.glob("*.h"))
    files += [COMMON_DIR / "fmu_core.c", COMMON_DIR / "fmu_core.h"]
    return files


def _gcc() -> str:
    gcc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        raise FmuError("no C compiler found: install gcc (Debian: apt-get install gcc) or set CC")
    return gcc


def _input_hash(name: str, fmi: int) -> str:
    h = hashlib.sha256()
    files = _sources(name) + [MODELS_DIR / name / "model.toml", Path(__file__),
                              MODELS_DIR / "_spec.py",
                              COMMON_DIR / ("fmi2_api.c" if fmi == 2 else "fmi3_api.c")]
    readme = MODELS_DIR / name / "README.md"
    if readme.exists():
        files.append(readme)
    inc = _fmpy_include()
    files += sorted(inc.glob(f"fmi{fmi}*.h"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    try:
        h.update(subprocess.run([_gcc(), "--version"], capture_output=True, check=False).stdout)
    except OSError:
        pass
    h.update(f"fmi{fmi}".encode())
    return h.hexdigest()


@contextmanager
def _lock(out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _compile(name: str, fmi: int, token: str, work: Path) -> Path:
    spec = load_spec(name)
    (work / "model_vars.h").write_text(render_header(spec, token))
    api = COMMON_DIR / ("fmi2_api.c" if fmi == 2 else "fmi3_api.c")
    c_files = [p for p in _sources(name) if p.suffix == ".c"] + [api]
    lib = work / f"{name}.so"
    cmd = [_gcc(), "-shared", "-fPIC", "-O2", "-std=gnu99", "-Wall", "-Wextra",
           "-Wno-unused-parameter", "-fvisibility=hidden",
           f"-I{work}", f"-I{COMMON_DIR}", f"-I{MODELS_DIR / name}", f"-I{_fmpy_include()}",
           *map(str, c_files), "-o", str(lib), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FmuError(f"gcc failed building {name} (FMI {fmi}.0), exit {proc.returncode}:\n"
                       f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return lib


def build(name: str, out_dir: Path | str | None = None, *, fmi_version: int = 2,
          force: bool = False) -> Path:
    """Build one shipped model into an FMU.

    Parameters
    ----------
    name
        Model name, one of :data:`MODELS`.
    out_dir
        Output directory; default :data:`BUILD_DIR` (``fmu_models/build``).
    fmi_version
        2 (file ``<name>.fmu``) or 3 (file ``<name>3.fmu``).
    force
        Rebuild even if the stamp says the sources are unchanged.

    Returns
    -------
    pathlib.Path
        The FMU file.

    Raises
    ------
    FmuError
        Unknown model, no compiler, or gcc failed (the message holds gcc's output).
    """
    if name not in MODELS:
        raise FmuError(f"unknown model {name!r}{did_you_mean(name, MODELS)}; "
                       f"shipped models: {', '.join(MODELS)}")
    if fmi_version not in (2, 3):
        raise FmuError(f"fmi_version must be 2 or 3, got {fmi_version!r}")
    spec = load_spec(name)
    if fmi_version == 3 and not spec.fmi3:
        raise FmuError(f"model {name!r} is not exported as FMI 3.0 (set fmi3 = true in model.toml)")
    out = Path(out_dir) if out_dir is not None else BUILD_DIR
    fmu = out / (f"{name}.fmu" if fmi_version == 2 else f"{name}3.fmu")
    stamp = fmu.with_suffix(".fmu.sha256")
    digest = _input_hash(name, fmi_version)
    with _lock(out):
        if not force and fmu.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            return fmu
        token = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin-workbench/{name}/{digest}")) + "}"
        with tempfile.TemporaryDirectory(prefix=f"build-{name}-") as tmp:
            work = Path(tmp)
            lib = _compile(name, fmi_version, token, work)
            import fmpy

            sources = [p.name for p in _sources(name)] + [
                "fmi2_api.c" if fmi_version == 2 else "fmi3_api.c", "model_vars.h"]
            if fmi_version == 2:
                xml = render_fmi2(spec, token, sources)
                bin_dir = f"binaries/{fmpy.platform}"
            else:
                xml = render_fmi3(spec, token)
                bin_dir = f"binaries/{fmpy.platform_tuple}"
            tmp_fmu = work / fmu.name
            with zipfile.ZipFile(tmp_fmu, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("modelDescription.xml", xml)
                zf.write(lib, f"{bin_dir}/{name}.so")
                if fmi_version == 2:
                    for p in _sources(name):
                        zf.write(p, f"sources/{p.name}")
                    zf.write(COMMON_DIR / "fmi2_api.c", "sources/fmi2_api.c")
                    zf.write(work / "model_vars.h", "sources/model_vars.h")
                readme = MODELS_DIR / name / "README.md"
                if readme.exists():
                    zf.write(readme, "documentation/README.md")
            out.mkdir(parents=True, exist_ok=True)
            staged = out / f".{fmu.name}.tmp"
            shutil.copyfile(tmp_fmu, staged)
            os.replace(staged, fmu)
            stamp.write_text(digest + "\n")
    return fmu


def build_all(out_dir: Path | str | None = None, force: bool = False) -> list[Path]:
    """Build every shipped model (FMI 2.0, plus FMI 3.0 where enabled).

    Idempotent and cheap when nothing changed (hash stamps); safe to call from
    several processes at once (file lock).

    Parameters
    ----------
    out_dir
        Output directory; default :data:`BUILD_DIR`.
    force
        Rebuild everything.

    Returns
    -------
    list of pathlib.Path
        The FMU files, e.g. ``reactor.fmu``, ``reactor3.fmu``, ``dryer.fmu``, ``degradation.fmu``.
    """
    paths = []
    for name in MODELS:
        if not (MODELS_DIR / name / "model.toml").exists():
            continue
        paths.append(build(name, out_dir, fmi_version=2, force=force))
        if load_spec(name).fmi3:
            paths.append(build(name, out_dir, fmi_version=3, force=force))
    return paths
