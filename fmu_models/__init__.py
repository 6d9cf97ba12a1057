"""Physics layer: FMI 2.0/3.0 process models and a fast runtime for any FMU.

Finding an FMU (one resolver for every config field and CLI argument)::

    from fmu_models import resolve_fmu, shipped
    path = resolve_fmu("reactor")                    # or "my_model.fmu", relative_to=config_file
    path = shipped("reactor")                        # fmu_models/build/reactor.fmu

Runners (load once, run many times)::

    from fmu_models import FmuModel
    model = FmuModel(path)                           # or any third-party FMU
    ds = model.run(parameters={...}, stop_time="8 h", output_interval=10)
    batch = model.run_many([{...}, {...}], executor="processes:2", seed=1)

Steppers (sample by sample; co-simulation or model exchange behind one interface)::

    from fmu_models import open_stepper
    s = open_stepper(path, interface="cs", inputs=["T_sp"], outputs=["T"])
    s.start({"k1_ref": 0.02}); s.set_inputs([345.0]); s.step(10.0); y = s.read()
    Y = s.step_block(U, dt)                          # a block of samples (C loop for CS)

State estimation uses ``interface="me"`` (:class:`MeStepper`, RK4) for its exposed states.
"""

# --- shipped models and their build ---
from fmu_models._build import BUILD_DIR, MODELS, build, build_all

# --- runtime ---
from fmu_models._config import InputTable, RunConfig, TimeGrid
from fmu_models._describe import FmuInfo, FmuVariable, describe_fmu
from fmu_models._instance import FmuInstance, FmuState
from fmu_models._many import run_many
from fmu_models._me_stepper import MeStepper
from fmu_models._resolve import resolve_fmu, shipped, shipped_names
from fmu_models._runtime import FmuModel
from fmu_models._spec import ModelSpec, load_spec
from fmu_models._stepper import build_stepper
from fmu_models._stepping import CsStepper, Stepper, open_stepper

__all__ = [
    "BUILD_DIR",
    "MODELS",
    "build",
    "build_all",
    "resolve_fmu",
    "shipped",
    "shipped_names",
    "load_spec",
    "ModelSpec",
    "FmuModel",
    "FmuInstance",
    "FmuState",
    "Stepper",
    "CsStepper",
    "MeStepper",
    "open_stepper",
    "RunConfig",
    "InputTable",
    "TimeGrid",
    "FmuInfo",
    "FmuVariable",
    "describe_fmu",
    "run_many",
    "build_stepper",
]
