"""Registry of config kinds: the top-level ``kind:`` of a YAML file → its pydantic model.

Each package owns its config models; this table (in the composition layer) only
names them, as ``"package.module:Class"`` strings imported on demand.
"""

from __future__ import annotations

import importlib

from workbench.errors import ConfigError, did_you_mean

KINDS: dict[str, str] = {
    # --- config kinds (one line each; keep sorted) ---
    "campaign": "optimization._config:CampaignConfig",
    "golden-build": "golden_batch:GoldenBuildConfig",
    "life": "simulation.life:LifeModel",
    "life-distribution": "simulation.life:FittedLife",
    "line": "simulation.line.config:LineScenario",
    "line-binding": "twin.line:LineBinding",
    "line-plant": "twin.line:LinePlantScenario",
    "line-snapshot": "simulation.line:LineSnapshot",
    "plant-emulator": "twin.emulator:PlantScenario",
    "twin-binding": "twin:TwinBinding",
    # --- end of config kinds ---
}


def model_for_kind(kind: str, *, source: str | None = None):
    """Return the pydantic model class registered for ``kind``.

    Raises
    ------
    ConfigError
        For an unknown kind, with a did-you-mean.
    """
    if kind not in KINDS:
        raise ConfigError(
            f'kind "{kind}" is not known; {did_you_mean(kind, KINDS)}', source=source, path="kind"
        )
    module, _, cls = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), cls)
