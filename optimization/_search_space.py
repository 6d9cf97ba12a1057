"""A campaign's search space, recorded in its Optuna study, so that a changed campaign is not resumed unnoticed.

When a campaign creates its study it stores, in the study's user attrs, its search space —
each parameter's name, type, bounds (``low``/``high`` in the parameter's unit), step, log
scale or choices; the objectives (metric, direction); the constraints (metric, min, max) —
and the SHA-256 of that description (``search_space``, ``search_space_hash``).

Running the campaign again picks its study (:func:`choose_study`):

* the newest study of the campaign whose recorded hash equals the current one is resumed;
* none matches: the run is refused with a :class:`~workbench.errors.ConfigError` listing
  what changed (``bound of temperature changed from [300, 350] to [300, 360] K``), unless
  ``on_change="new-study"`` (a new study ``<name>-2``, ``-3`` … is created in the same
  storage; the old one keeps every trial) or ``on_change="resume-anyway"`` (the newest study
  is continued; :func:`in_search_space` then tells which trials lie inside the current
  space, and the best recipe is chosen among those). Changed objectives cannot be resumed
  anyway: Optuna fixes a study's directions when it is created;
* a study created before this record existed is resumed with a warning, and the current
  search space is recorded in it from then on.

A campaign's studies are the one named like the campaign and those whose ``campaign`` user
attr names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

from optimization._config import CampaignConfig
from workbench.errors import ConfigError

__all__ = [
    "ON_SPACE_CHANGE",
    "StudyChoice",
    "search_space",
    "search_space_hash",
    "space_changes",
    "choose_study",
    "open_study",
    "record_search_space",
    "in_search_space",
]

log = logging.getLogger("optimization._campaign")

SPACE_ATTR = "search_space"
HASH_ATTR = "search_space_hash"
CAMPAIGN_ATTR = "campaign"

OnSpaceChange = Literal["refuse", "new-study", "resume-anyway"]
#: What a campaign does when its search space differs from its study's.
ON_SPACE_CHANGE: tuple[str, ...] = ("refuse", "new-study", "resume-anyway")


def search_space(config: CampaignConfig) -> dict[str, Any]:
    """The campaign's search space as plain JSON-able data (what :func:`search_space_hash` hashes)."""
    params: dict[str, dict[str, Any]] = {}
    for p in config.parameters:
        d: dict[str, Any] = {"type": p.type, "unit": p.unit}
        if p.type == "categorical":
            d["choices"] = list(p.choices)
        else:
            d.update(low=p.low, high=p.high, step=p.step, log=p.log)
        params[p.name] = d
    return {
        "parameters": params,
        "objectives": [{"metric": o.metric, "direction": o.direction} for o in config.objectives],
        "constraints": [
            {"metric": c.metric, "min": c.min, "max": c.max} for c in config.constraints
        ],
    }


def search_space_hash(space: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a :func:`search_space` description."""
    text = json.dumps(space, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _interval(low: Any, high: Any) -> str:
    return f"[{_num(low)}, {_num(high)}]"


def _unit(d: dict[str, Any]) -> str:
    return "" if d.get("unit", "1") in ("", "1") else f" {d['unit']}"


def _objectives(space: dict[str, Any]) -> str:
    return ", ".join(f"{o['metric']} ({o['direction']})" for o in space["objectives"]) or "none"


def _constraints(space: dict[str, Any]) -> str:
    out = []
    for c in space["constraints"]:
        out += [f"{c['metric']} >= {_num(c['min'])}"] if c["min"] is not None else []
        out += [f"{c['metric']} <= {_num(c['max'])}"] if c["max"] is not None else []
    return ", ".join(out) or "none"


def space_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from ``old`` to ``new`` (two :func:`search_space` descriptions), one phrase each."""
    out: list[str] = []
    po, pn = old.get("parameters", {}), new.get("parameters", {})
    for name, d in pn.items():
        if name not in po:
            what = (
                f"choices {d['choices']}"
                if d["type"] == "categorical"
                else f"[{_num(d['low'])}, {_num(d['high'])}]{_unit(d)}"
            )
            out.append(f"parameter {name} added ({d['type']}, {what})")
    for name, o in po.items():
        d = pn.get(name)
        if d is None:
            out.append(f"parameter {name} removed")
            continue
        if o.get("type") != d["type"]:
            out.append(f"type of {name} changed from {o.get('type')} to {d['type']}")
            continue
        if o.get("unit") != d["unit"]:
            out.append(f"unit of {name} changed from {o.get('unit')} to {d['unit']}")
        if d["type"] == "categorical":
            if o.get("choices") != d["choices"]:
                out.append(f"choices of {name} changed from {o.get('choices')} to {d['choices']}")
            continue
        if (o.get("low"), o.get("high")) != (d["low"], d["high"]):
            was, now = _interval(o.get("low"), o.get("high")), _interval(d["low"], d["high"])
            if was == now:  # a difference below 6 digits: show every digit
                was, now = (
                    f"[{o.get('low')!r}, {o.get('high')!r}]",
                    f"[{d['low']!r}, {d['high']!r}]",
                )
            out.append(f"bound of {name} changed from {was} to {now}{_unit(d)}")
        for key in ("step", "log"):
            if o.get(key) != d[key]:
                out.append(f"{key} of {name} changed from {o.get(key)} to {d[key]}")
    if old.get("objectives") != new["objectives"]:
        out.append(f"objectives changed from {_objectives(old)} to {_objectives(new)}")
    if old.get("constraints") != new["constraints"]:
        out.append(f"constraints changed from {_constraints(old)} to {_constraints(new)}")
    return out


@dataclass(frozen=True)
class StudyChoice:
    """The study a campaign run uses (see :func:`choose_study`).

    Attributes
    ----------
    name
        Study name in the storage.
    create
        True when the study does not exist yet (create it, then :func:`record_search_space`).
    record
        True when an existing study has no recorded search space (record the current one).
    warning
        A message for the user (legacy study resumed unchecked, new study started, study
        resumed across a changed space), or None.
    changes
        What differs from the resumed study's recorded space (``resume-anyway``), else empty.
    """

    name: str
    create: bool
    record: bool = False
    warning: str | None = None
    changes: tuple[str, ...] = ()


def choose_study(
    storage, config: CampaignConfig, on_change: OnSpaceChange = "refuse", *, where: str = ""
) -> StudyChoice:
    """Pick the study of ``config`` in ``storage`` for a run (module docstring).

    Raises
    ------
    ConfigError
        The search space changed since the newest study was created and ``on_change`` is
        ``"refuse"`` (or the objectives changed and it is ``"resume-anyway"``).
    """
    if on_change not in ON_SPACE_CHANGE:
        raise ConfigError(
            f"on_space_change must be one of {', '.join(ON_SPACE_CHANGE)}, got {on_change!r}"
        )
    space = search_space(config)
    digest = search_space_hash(space)
    studies = sorted(storage.get_all_studies(), key=lambda s: s._study_id)
    family = [
        s
        for s in studies
        if s.study_name == config.name or s.user_attrs.get(CAMPAIGN_ATTR) == config.name
    ]
    if not family:
        return StudyChoice(config.name, create=True)
    if on_change == "new-study":
        taken = {s.study_name for s in studies}
        k = 2
        while f"{config.name}-{k}" in taken:
            k += 1
        name = f"{config.name}-{k}"
        return StudyChoice(
            name,
            create=True,
            warning=(
                f"campaign '{config.name}': started the new study '{name}' in {where or 'the storage'}; "
                f"the earlier studies ({', '.join(repr(s.study_name) for s in family)}) keep their trials"
            ),
        )
    matching = [s for s in family if s.user_attrs.get(HASH_ATTR) == digest]
    if matching:
        return StudyChoice(matching[-1].study_name, create=False)
    newest = family[-1]
    if HASH_ATTR not in newest.user_attrs:
        return StudyChoice(
            newest.study_name,
            create=False,
            record=True,
            warning=(
                f"campaign '{config.name}': study '{newest.study_name}' was created before campaigns recorded their "
                f"search space, so a change of bounds since then cannot be detected; resuming it, and recording "
                f"the current search space in it from now on (--new-study starts a fresh study instead)"
            ),
        )
    changes = space_changes(newest.user_attrs.get(SPACE_ATTR, {}), space)
    listed = "; ".join(changes) or "the recorded description differs"
    head = (
        f"campaign '{config.name}': its search space changed since study '{newest.study_name}' in "
        f"{where or 'the storage'} was created: {listed}"
    )
    if on_change == "resume-anyway":
        if newest.user_attrs.get(SPACE_ATTR, {}).get("objectives") != space["objectives"]:
            raise ConfigError(
                f"{head}. --resume-anyway cannot continue a study whose objectives or directions "
                f"changed (Optuna fixes them when the study is created); use --new-study",
                path="objectives",
            )
        return StudyChoice(
            newest.study_name,
            create=False,
            changes=tuple(changes),
            warning=(
                f"{head}. Resuming it anyway: the best recipe is chosen among the trials inside the current "
                f"search space"
            ),
        )
    raise ConfigError(
        f"{head}. Its trials were drawn from the old space. Run again with --new-study to start a "
        f"new study (the old one keeps its trials), or --resume-anyway to continue this one (the "
        f"best recipe is then chosen among the trials inside the new space)",
        path="parameters",
    )


def open_study(
    storage,
    sampler,
    config: CampaignConfig,
    on_change: OnSpaceChange = "refuse",
    *,
    where: str = "",
):
    """Load or create the campaign's study as :func:`choose_study` picks it; ``(study, choice)``.

    An existing study is loaded without a write (``create_study`` writes a record first),
    unless its search space is to be recorded; a warning of the choice is logged.
    """
    import optuna

    choice = choose_study(storage, config, on_change, where=where)
    if choice.warning:
        log.warning("%s", choice.warning)
    if choice.create:
        study = optuna.create_study(
            storage=storage,
            study_name=choice.name,
            load_if_exists=True,
            sampler=sampler,
            directions=[o.direction for o in config.objectives],
        )
    else:
        study = optuna.load_study(study_name=choice.name, storage=storage, sampler=sampler)
    if choice.create or choice.record:
        record_search_space(study, config)
    return study, choice


def record_search_space(study, config: CampaignConfig) -> None:
    """Store the campaign's search space, its hash and the campaign name in the study's user attrs."""
    space = search_space(config)
    study.set_user_attr(SPACE_ATTR, space)
    study.set_user_attr(HASH_ATTR, search_space_hash(space))
    study.set_user_attr(CAMPAIGN_ATTR, config.name)


def in_search_space(params: dict[str, Any], config: CampaignConfig) -> bool:
    """Whether a trial's parameters lie inside the campaign's current search space.

    Every parameter must be there, within ``[low, high]`` (to a relative 1e-12, for values
    written through a float) or among the choices; a parameter the campaign no longer has
    makes no difference.
    """
    for p in config.parameters:
        if p.name not in params:
            return False
        v = params[p.name]
        if p.type == "categorical":
            if v not in p.choices:
                return False
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            return False
        tol = 1e-12 * max(abs(float(p.low)), abs(float(p.high)), 1.0)
        if not (math.isfinite(x) and float(p.low) - tol <= x <= float(p.high) + tol):
            return False
        if p.type == "int" and x != int(x):
            return False
    return True
