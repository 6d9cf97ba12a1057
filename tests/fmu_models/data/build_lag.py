"""Build the first-order-lag test FMU (FMI 2.0 or 3.0, CS + ME) from ``lag.c``.

Used by the runtime and CLI tests as a small "third-party" FMU whose exact
solution is known: ``x(t) = k*u + (x0 - k*u) * exp(-(t - t0)/tau)`` for constant
input ``u``. ``fail_time >= 0`` makes the FMU return Error once t > fail_time.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_VARS2 = """
    <ScalarVariable name="u" valueReference="1" causality="input" variability="continuous" description="lag input">
      <Real start="0" unit="K"/></ScalarVariable>
    <ScalarVariable name="y" valueReference="2" causality="output" variability="continuous" initial="calculated" description="lag output">
      <Real unit="K"/></ScalarVariable>
    <ScalarVariable name="k" valueReference="3" causality="parameter" variability="fixed" initial="exact" description="static gain">
      <Real start="1" unit="1"/></ScalarVariable>
    <ScalarVariable name="tau" valueReference="4" causality="parameter" variability="fixed" initial="exact" description="time constant">
      <Real declaredType="Duration" start="10"/></ScalarVariable>
    <ScalarVariable name="x0" valueReference="5" causality="parameter" variability="fixed" initial="exact" description="initial state">
      <Real start="300" unit="K"/></ScalarVariable>
    <ScalarVariable name="x" valueReference="6" causality="local" variability="continuous" initial="calculated" description="state">
      <Real unit="K"/></ScalarVariable>
    <ScalarVariable name="der(x)" valueReference="7" causality="local" variability="continuous" initial="calculated" description="state derivative">
      <Real unit="K/s" derivative="6"/></ScalarVariable>
    <ScalarVariable name="fail_time" valueReference="8" causality="parameter" variability="fixed" initial="exact" description="error switch (negative: off)">
      <Real start="-1" unit="s"/></ScalarVariable>
"""

MD2 = f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName="lag" guid="{{8c4e810f-3df3-4a00-8276-176fa3c9f000}}"
  description="first-order lag test FMU" numberOfEventIndicators="0" variableNamingConvention="structured">
  <ModelExchange modelIdentifier="lag" canGetAndSetFMUstate="true" canSerializeFMUstate="true"/>
  <CoSimulation modelIdentifier="lag" canHandleVariableCommunicationStepSize="true"
    canGetAndSetFMUstate="true" canSerializeFMUstate="true"/>
  <UnitDefinitions>
    <Unit name="K"><BaseUnit K="1"/></Unit>
    <Unit name="K/s"><BaseUnit K="1" s="-1"/></Unit>
    <Unit name="s"><BaseUnit s="1"/></Unit>
    <Unit name="1"/>
  </UnitDefinitions>
  <TypeDefinitions><SimpleType name="Duration"><Real quantity="Time" unit="s"/></SimpleType></TypeDefinitions>
  <DefaultExperiment startTime="0" stopTime="50" stepSize="0.5"/>
  <ModelVariables>{_VARS2}  </ModelVariables>
  <ModelStructure>
    <Outputs><Unknown index="2"/></Outputs>
    <Derivatives><Unknown index="7"/></Derivatives>
    <InitialUnknowns><Unknown index="2"/><Unknown index="6"/><Unknown index="7"/></InitialUnknowns>
  </ModelStructure>
</fmiModelDescription>
"""

MD3 = """<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName="lag" instantiationToken="{8c4e810f-3df3-4a00-8276-176fa3c9f003}"
  description="first-order lag test FMU" variableNamingConvention="structured">
  <ModelExchange modelIdentifier="lag" canGetAndSetFMUState="true" canSerializeFMUState="true"/>
  <CoSimulation modelIdentifier="lag" canHandleVariableCommunicationStepSize="true"
    canGetAndSetFMUState="true" canSerializeFMUState="true"/>
  <UnitDefinitions>
    <Unit name="K"><BaseUnit K="1"/></Unit>
    <Unit name="K/s"><BaseUnit K="1" s="-1"/></Unit>
    <Unit name="s"><BaseUnit s="1"/></Unit>
    <Unit name="1"/>
  </UnitDefinitions>
  <TypeDefinitions><Float64Type name="Duration" quantity="Time" unit="s"/></TypeDefinitions>
  <DefaultExperiment startTime="0" stopTime="50" stepSize="0.5"/>
  <ModelVariables>
    <Float64 name="time" valueReference="0" causality="independent" variability="continuous" unit="s"/>
    <Float64 name="u" valueReference="1" causality="input" variability="continuous" start="0" unit="K" description="lag input"/>
    <Float64 name="y" valueReference="2" causality="output" variability="continuous" unit="K" description="lag output"/>
    <Float64 name="k" valueReference="3" causality="parameter" variability="fixed" start="1" unit="1" description="static gain"/>
    <Float64 name="tau" valueReference="4" causality="parameter" variability="fixed" start="10" declaredType="Duration" description="time constant"/>
    <Float64 name="x0" valueReference="5" causality="parameter" variability="fixed" start="300" unit="K" description="initial state"/>
    <Float64 name="x" valueReference="6" causality="local" variability="continuous" unit="K" description="state"/>
    <Float64 name="der(x)" valueReference="7" causality="local" variability="continuous" unit="K/s" derivative="6" description="state derivative"/>
    <Float64 name="fail_time" valueReference="8" causality="parameter" variability="fixed" start="-1" unit="s" description="error switch (negative: off)"/>
  </ModelVariables>
  <ModelStructure>
    <Output valueReference="2"/>
    <ContinuousStateDerivative valueReference="7"/>
    <InitialUnknown valueReference="2"/>
    <InitialUnknown valueReference="6"/>
    <InitialUnknown valueReference="7"/>
  </ModelStructure>
</fmiModelDescription>
"""


def build_lag_fmu(out_dir: str | Path, fmi_version: int = 2) -> Path:
    """Compile ``lag.c`` with gcc and zip ``lag<fmi_version>.fmu`` into ``out_dir``."""
    import fmpy

    out_dir = Path(out_dir)
    work = out_dir / f"lag{fmi_version}_src"
    platform = "linux64" if fmi_version == 2 else "x86_64-linux"
    lib = work / "binaries" / platform / "lag.so"
    lib.parent.mkdir(parents=True, exist_ok=True)
    include = Path(fmpy.__file__).parent / "c-code"
    subprocess.run(
        ["gcc", "-O2", "-shared", "-fPIC", f"-DFMI_VERSION={fmi_version}", f"-I{include}",
         "-o", str(lib), str(HERE / "lag.c"), str(HERE / "lag_stubs.c"), "-lm"],
        check=True, capture_output=True, text=True,
    )
    fmu = out_dir / f"lag{fmi_version}.fmu"
    with zipfile.ZipFile(fmu, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("modelDescription.xml", MD2 if fmi_version == 2 else MD3)
        zf.write(lib, f"binaries/{platform}/lag.so")
        zf.write(HERE / "lag.c", "sources/lag.c")
    return fmu
