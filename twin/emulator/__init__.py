"""Plant emulator: an FMU with hidden parameters, noise, drift and faults, served over OPC UA.

``twin plant serve SCENARIO`` runs :class:`PlantServer`; tests and demos use
:class:`PlantEmulator` in-process or the server in a thread/subprocess.
"""

from twin.emulator._plant import PlantEmulator
from twin.emulator._scenario import (
    PlantDrift,
    PlantFault,
    PlantScenario,
    PlantSetpoint,
    PlantTag,
    load_plant_scenario,
)
from twin.emulator._security import SECURITY_POLICIES, ServerSecurity, write_self_signed_certificate
from twin.emulator._server import PlantServer, free_port, serve_plant

__all__ = [
    "PlantEmulator",
    "PlantServer",
    "PlantScenario",
    "PlantTag",
    "PlantDrift",
    "PlantFault",
    "PlantSetpoint",
    "load_plant_scenario",
    "serve_plant",
    "free_port",
    "ServerSecurity",
    "SECURITY_POLICIES",
    "write_self_signed_certificate",
]
