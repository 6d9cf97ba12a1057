"""Physics layer: FMI 2.0/3.0 process models and a fast runtime for any FMU.

Runtime (load once, run many times)::

    from fmu_models import FmuModel
    model = FmuModel("reactor.fmu")                  # or any third-party FMU
    ds = model.run(parameters={...}, stop_time="8 h", output_interval=10)
    batch = model.run_many([{...}, {...}], executor="processes:2", seed=1)

State estimation steps the Model-Exchange interface with its states exposed::

    from fmu_models import MeStepper
    me = MeStepper("reactor.fmu"); me.initialise({...})
    me.step(10.0, max_step=1.0); x = me.states
"""

# --- shipped models and their build (PART A) ---
from fmu_models._build import BUILD_DIR, MODELS, build, build_all

# --- runtime (PART B) ---
from fmu_models._config import InputTable, RunConfig
from fmu_models._describe import FmuInfo, FmuVariable, describe_fmu
from fmu_models._many import run_many
from fmu_models._me_stepper import MeStepper
from fmu_models._runtime import FmuModel, FmuState, RunArrays
from fmu_models._stepper import build_stepper

__all__ = [
    "BUILD_DIR",
    "MODELS",
    "build",
    "build_all",
    "FmuModel",
    "FmuState",
    "MeStepper",
    "RunConfig",
    "InputTable",
    "RunArrays",
    "FmuInfo",
    "FmuVariable",
    "describe_fmu",
    "run_many",
    "build_stepper",
]
