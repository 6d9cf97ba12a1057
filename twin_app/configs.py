"""Registry of config kinds: the top-level ``kind:`` of a YAML file → its pydantic model.

Each package owns its config models; this table (in the composition layer) only
names them, as ``"package.module:Class"`` strings imported on demand.
"""

from __future__ import annotations

import importlib

from workbench.errors import ConfigError, did_you_mean

KINDS: dict[str, str] = {
    # --- config kinds (one line each; keep sorted) ---
    "batch-loop": "twin:BatchLoopScenario",
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


def check_references(kind: str, config, resolved) -> list:
    """Check what a validated config names outside itself; the hook ``twin config validate`` calls.

    Runs the checker registered for ``kind`` in :data:`twin_app._references.REFERENCE_CHECKS`
    (FMU file exists and is an FMU, every FMU variable a binding/scenario names exists, tag
    units convert to the variable's units, campaign metrics exist). Kinds without a checker
    have nothing to check. Live checks (e.g. the OPC UA nodes of a binding, ``--connect``)
    belong beside this one, per kind, and run only when asked for.

    Parameters
    ----------
    kind
        The config kind.
    config
        The validated model instance.
    resolved
        The :class:`workbench.config.ResolvedConfig` it came from (positions for messages).

    Returns
    -------
    list of ConfigError
        Every problem found, each naming file:line:column and the field; empty when all is well.
    """
    from twin_app._references import REFERENCE_CHECKS, References

    checker = REFERENCE_CHECKS.get(kind)
    if checker is None:
        return []
    refs = References(resolved)
    checker(config, refs)
    return refs.errors
