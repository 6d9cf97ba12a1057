"""Build the conformance FMUs (``types3``, ``clocked3``, ``bounce2``, ``counter2``) with gcc.

The C sources in this folder were written for the workbench tests (not copied from
another project); they are compiled against FMPy's FMI headers (``fmpy/c-code``).

* ``types3.fmu`` — FMI 3.0 CS + ME: Float64 state ``x`` (dx/dt = ``rate``), a Float32 output,
  parameters and outputs of every integer type, Boolean, Enumeration, a String parameter,
  Float64 array parameter/output (``gains``/``ya``, dims [3]), self-termination at ``stop_at``
  and a failing initialisation (``fail_init``).
* ``clocked3.fmu`` — the same binary declared with scheduled execution (FMI 3 clocks) only.
* ``bounce2.fmu`` — FMI 2.0 CS + ME bouncing ball (state events), Real and Integer outputs,
  self-termination after ``max_bounces``, failing initialisation for ``g <= 0``.
* ``counter2.fmu`` — the same binary whose only output is the Integer ``bounces``.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_INT_TYPES = ("Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64")
_INT_START = {
    "Int8": -8,
    "UInt8": 8,
    "Int16": -16,
    "UInt16": 16,
    "Int32": -32,
    "UInt32": 32,
    "Int64": -64,
    "UInt64": 64,
}


def _types3_variables() -> str:
    ints = "".join(
        f'    <{t} name="{t.lower()}" valueReference="{10 + k}" causality="parameter" variability="fixed" '
        f'start="{_INT_START[t]}"/>\n'
        f'    <{t} name="o_{t.lower()}" valueReference="{20 + k}" causality="output" variability="discrete"/>\n'
        for k, t in enumerate(_INT_TYPES)
    )
    return f"""
    <Float64 name="time" valueReference="0" causality="independent" variability="continuous" unit="s"/>
    <Float64 name="x" valueReference="1" causality="output" variability="continuous" unit="m" description="ramp"/>
    <Float64 name="der(x)" valueReference="2" causality="local" variability="continuous" unit="m/s" derivative="1"/>
    <Float64 name="rate" valueReference="3" causality="parameter" variability="fixed" start="1" unit="m/s"/>
    <Float32 name="f32" valueReference="4" causality="output" variability="continuous" unit="m" description="p32*x"/>
    <Float32 name="p32" valueReference="5" causality="parameter" variability="fixed" start="0.25"/>
{ints}    <Boolean name="flag" valueReference="30" causality="parameter" variability="fixed" start="false"/>
    <Boolean name="o_flag" valueReference="31" causality="output" variability="discrete"/>
    <Enumeration name="mode" valueReference="32" declaredType="Mode" causality="parameter" variability="fixed" start="1"/>
    <Enumeration name="o_mode" valueReference="33" declaredType="Mode" causality="output" variability="discrete"/>
    <String name="label" valueReference="34" causality="parameter" variability="fixed"><Start value="abc"/></String>
    <Int64 name="label_hash" valueReference="35" causality="output" variability="discrete" description="djb2 hash of label"/>
    <Float64 name="gains" valueReference="40" causality="parameter" variability="fixed" start="1 2 3"><Dimension start="3"/></Float64>
    <Float64 name="ya" valueReference="41" causality="output" variability="continuous" unit="m" description="gains*x"><Dimension start="3"/></Float64>
    <Float64 name="stop_at" valueReference="50" causality="parameter" variability="fixed" start="-1" unit="s" description="end the simulation here (negative: never)"/>
    <Boolean name="fail_init" valueReference="51" causality="parameter" variability="fixed" start="false"/>
"""


def _types3(interfaces: str, extra_vars: str = "", outputs: bool = True) -> str:
    outs = [1, 4, *range(20, 28), 31, 33, 35, 41]
    structure = "".join(f'<Output valueReference="{vr}"/>' for vr in outs) if outputs else ""
    if outputs:
        structure += '<ContinuousStateDerivative valueReference="2"/>'
        structure += "".join(f'<InitialUnknown valueReference="{vr}"/>' for vr in outs)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName="types3" instantiationToken="{{6f1a6b2e-2f36-4c53-9d8e-types3000001}}"
  description="FMI 3 conformance FMU: every variable type, arrays, termination">
  {interfaces}
  <UnitDefinitions><Unit name="m"><BaseUnit m="1"/></Unit><Unit name="m/s"><BaseUnit m="1" s="-1"/></Unit>
    <Unit name="s"><BaseUnit s="1"/></Unit></UnitDefinitions>
  <TypeDefinitions>
    <EnumerationType name="Mode"><Item name="off" value="1"/><Item name="slow" value="2"/><Item name="fast" value="3"/></EnumerationType>
  </TypeDefinitions>
  <DefaultExperiment startTime="0" stopTime="10" stepSize="0.5"/>
  <ModelVariables>{_types3_variables()}{extra_vars}  </ModelVariables>
  <ModelStructure>{structure}</ModelStructure>
</fmiModelDescription>
"""


MD_TYPES3 = _types3(
    '<ModelExchange modelIdentifier="types3"/>\n  <CoSimulation modelIdentifier="types3" '
    'canHandleVariableCommunicationStepSize="true"/>'
)
MD_CLOCKED3 = _types3(
    '<ScheduledExecution modelIdentifier="types3"/>',
    extra_vars='    <Clock name="tick" valueReference="60" causality="input" variability="discrete" '
    'intervalVariability="constant" intervalDecimal="0.5"/>\n',
    outputs=False,
)


def _bounce2(outputs_real: bool) -> str:
    out = "output" if outputs_real else "local"
    outs = ([1, 3] if outputs_real else []) + [7]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName="bounce2" guid="{{0b6c4a57-53a9-4c1e-9b0e-b0unce000002}}"
  description="FMI 2 conformance FMU: bouncing ball" numberOfEventIndicators="1">
  <ModelExchange modelIdentifier="bounce2"/>
  <CoSimulation modelIdentifier="bounce2" canHandleVariableCommunicationStepSize="true"/>
  <UnitDefinitions><Unit name="m"><BaseUnit m="1"/></Unit><Unit name="m/s"><BaseUnit m="1" s="-1"/></Unit>
    <Unit name="m/s2"><BaseUnit m="1" s="-2"/></Unit></UnitDefinitions>
  <DefaultExperiment startTime="0" stopTime="5" stepSize="0.05"/>
  <ModelVariables>
    <ScalarVariable name="h" valueReference="1" causality="{out}" variability="continuous" initial="exact" description="height"><Real start="1" unit="m"/></ScalarVariable>
    <ScalarVariable name="der(h)" valueReference="2" causality="local" variability="continuous" initial="calculated"><Real derivative="1" unit="m/s"/></ScalarVariable>
    <ScalarVariable name="v" valueReference="3" causality="{out}" variability="continuous" initial="exact" description="velocity"><Real start="0" unit="m/s"/></ScalarVariable>
    <ScalarVariable name="der(v)" valueReference="4" causality="local" variability="continuous" initial="calculated"><Real derivative="3" unit="m/s2"/></ScalarVariable>
    <ScalarVariable name="g" valueReference="5" causality="parameter" variability="fixed" initial="exact"><Real start="9.81" unit="m/s2"/></ScalarVariable>
    <ScalarVariable name="e" valueReference="6" causality="parameter" variability="tunable" initial="exact"><Real start="0.8"/></ScalarVariable>
    <ScalarVariable name="bounces" valueReference="7" causality="output" variability="discrete" initial="calculated" description="number of bounces"><Integer/></ScalarVariable>
    <ScalarVariable name="max_bounces" valueReference="8" causality="parameter" variability="fixed" initial="exact" description="end the simulation at this bounce (negative: never)"><Integer start="-1"/></ScalarVariable>
    <ScalarVariable name="h0" valueReference="9" causality="parameter" variability="fixed" initial="exact"><Real start="1" unit="m"/></ScalarVariable>
  </ModelVariables>
  <ModelStructure>
    <Outputs>{"".join(f'<Unknown index="{ {1: 1, 3: 3, 7: 7}[vr] }"/>' for vr in outs)}</Outputs>
    <Derivatives><Unknown index="2"/><Unknown index="4"/></Derivatives>
  </ModelStructure>
</fmiModelDescription>
"""


def _compile(source: str, identifier: str, version: int, work: Path) -> tuple[Path, str]:
    import fmpy

    platform = "linux64" if version == 2 else "x86_64-linux"
    lib = work / "binaries" / platform / f"{identifier}.so"
    lib.parent.mkdir(parents=True, exist_ok=True)
    include = Path(fmpy.__file__).parent / "c-code"
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-shared",
            "-fPIC",
            f"-DFMI_VERSION={version}",
            f"-I{include}",
            "-o",
            str(lib),
            str(HERE / source),
            str(HERE / "stubs.c"),
            "-lm",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return lib, f"binaries/{platform}/{identifier}.so"


def _zip(path: Path, md: str, lib: Path, arcname: str, source: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("modelDescription.xml", md)
        zf.write(lib, arcname)
        zf.write(HERE / source, f"sources/{source}")
    return path


def build_conformance_fmus(out_dir: str | Path) -> dict[str, Path]:
    """Compile the C sources and zip every conformance FMU into ``out_dir``; name -> path."""
    out = Path(out_dir)
    lib3, arc3 = _compile("types3.c", "types3", 3, out / "types3_src")
    lib2, arc2 = _compile("bounce2.c", "bounce2", 2, out / "bounce2_src")
    return {
        "types3": _zip(out / "types3.fmu", MD_TYPES3, lib3, arc3, "types3.c"),
        "clocked3": _zip(out / "clocked3.fmu", MD_CLOCKED3, lib3, arc3, "types3.c"),
        "bounce2": _zip(out / "bounce2.fmu", _bounce2(True), lib2, arc2, "bounce2.c"),
        "counter2": _zip(out / "counter2.fmu", _bounce2(False), lib2, arc2, "bounce2.c"),
    }


if __name__ == "__main__":  # python tests/fmu_models/data/conformance/build_conformance.py OUT_DIR
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    for built in build_conformance_fmus(target).values():
        print(built)
