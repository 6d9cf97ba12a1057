"""Config model of a golden-batch model build (``kind: golden-build``).

The YAML mirrors :class:`~golden_batch.GoldenBatchModel`: one mapping per part,
whose fields are that estimator's parameters (read from its ``__init__``
signature, so a new parameter needs no edit here)::

    kind: golden-build
    selection: {spec: "yield_C >= 0.9 and impurity_D < 0.02", alpha: 0.01}   # or selection: "yield_C >= 0.9"
    aligner: {method: dtw, window: 0.2}
    envelope: {k: 3, method: sigma}
    mpca: {n_components: 0.8, alpha: 0.01}
    quality_model: {quality: [yield_C]}      # or quality_model: drop
    include_warp: true

The former flat keys (``select``, ``alignment``, ``band``, ``k_sigma``,
``alpha`` …, table in ``docs/golden-batch.md``) are still read, with a
DeprecationWarning naming the new place of each.
"""

from __future__ import annotations

import inspect
import typing
import warnings
from typing import Annotated, Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from golden_batch._align import METHODS as ALIGN_METHODS
from golden_batch._align import Aligner
from golden_batch._envelope import METHODS as ENVELOPE_METHODS
from golden_batch._envelope import Envelope
from golden_batch._expr import parse_expression
from golden_batch._monitor import FLAT_PARAMETERS, GoldenBatchModel
from golden_batch._mpca import BatchPCA
from golden_batch._quality import QualityPLS
from golden_batch._select import GoldenSelector
from workbench.config import WorkbenchModel

__all__ = ["GoldenBuildConfig", "part_config"]

Fraction = Annotated[float, Field(gt=0, lt=1)]
Components = Annotated[int | float, Field(gt=0, description="int >= 1: components; in (0, 1): variance fraction")]


def part_config(estimator: type, constraints: dict[str, Any] | None = None, *,
                exclude: tuple[str, ...] = ()) -> type[WorkbenchModel]:
    """A config model whose fields are ``estimator``'s ``__init__`` parameters and defaults.

    ``constraints`` replace the annotation of some fields (e.g. a ``Literal`` of the
    valid choices or an ``Annotated`` range); ``exclude`` leaves parameters out
    (those the model sets itself).
    """
    constraints = constraints or {}
    hints = typing.get_type_hints(estimator.__init__)
    fields: dict[str, Any] = {}
    for p in list(inspect.signature(estimator.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in exclude:
            continue
        fields[p.name] = (constraints.get(p.name, hints.get(p.name, Any)), p.default)
    model = create_model(f"{estimator.__name__}Config", __base__=WorkbenchModel, **fields)
    model.__doc__ = f"Parameters of :class:`~golden_batch.{estimator.__name__}` (read from its signature)."
    return model


SelectionConfig = part_config(GoldenSelector, {"alpha": Fraction | None, "n_components": Components | None,
                                               "max_modes": Annotated[int, Field(ge=1, le=10)],
                                               "max_outlier_fraction": Annotated[float, Field(ge=0, lt=1)]},
                              exclude=("variables",))
AlignerConfig = part_config(Aligner, {"method": Literal[ALIGN_METHODS],
                                      "n_points": Annotated[int, Field(ge=10, le=100_000)],
                                      "window": Annotated[float, Field(gt=0, le=1)],
                                      "online_window": Annotated[float, Field(gt=0, le=1)]})
EnvelopeConfig = part_config(Envelope, {"method": Literal[ENVELOPE_METHODS], "k": Annotated[float, Field(gt=0)]},
                             exclude=("variables",))
BatchPCAConfig = part_config(BatchPCA, {"n_components": Components, "alpha": Fraction,
                                        "spe_method": Literal["box", "jackson-mudholkar"],
                                        "online": Literal["tsr", "pmp"],
                                        "scale_floor": Annotated[float, Field(gt=0, le=1)]}, exclude=("variables",))
QualityConfig = part_config(QualityPLS, exclude=("variables",))


def _components(value):
    return int(value) if isinstance(value, float) and value >= 1 else value


class GoldenBuildConfig(WorkbenchModel):
    """Settings of :class:`~golden_batch.GoldenBatchModel` as a validated config, one mapping per part."""

    kind: Literal["golden-build"] = "golden-build"
    selection: SelectionConfig = Field(default_factory=SelectionConfig,
                                       description="GoldenSelector, or its KPI spec as a string")
    aligner: AlignerConfig = Field(default_factory=AlignerConfig)
    envelope: EnvelopeConfig = Field(default_factory=EnvelopeConfig)
    mpca: BatchPCAConfig = Field(default_factory=BatchPCAConfig)
    quality_model: QualityConfig | Literal["drop"] = Field(default_factory=QualityConfig,
                                                           description="QualityPLS, or 'drop' for none")
    include_warp: bool = True

    @model_validator(mode="before")
    @classmethod
    def _flat_keys(cls, data: Any) -> Any:
        """Move the former flat keys into their parts (DeprecationWarning)."""
        if not isinstance(data, dict):
            return data
        flat = [k for k in data if k in FLAT_PARAMETERS]
        if not flat:
            return data
        data = dict(data)
        moved = []
        for key in flat:
            part, name = FLAT_PARAMETERS[key]
            value = data.pop(key)
            moved.append(f"{key} → {part}.{name}")
            sub = data.get(part)
            if isinstance(sub, str) and part == "selection":
                sub = {"spec": sub}
            if part == "quality_model" and (sub == "drop" or (isinstance(value, list) and not value)):
                data[part] = "drop"
                continue
            sub = dict(sub or {})
            if name in sub:
                raise ValueError(f"'{key}' and '{part}.{name}' are both given; keep only {part}.{name}")
            sub[name] = value
            data[part] = sub
        warnings.warn("golden-build config: flat keys are deprecated and will be removed in the next release; "
                      f"move them into the parts: {', '.join(moved)}", DeprecationWarning, stacklevel=2)
        return data

    @field_validator("selection", mode="before")
    @classmethod
    def _spec_shorthand(cls, v: Any) -> Any:
        return {"spec": v} if isinstance(v, str) else v

    @field_validator("selection")
    @classmethod
    def _parse(cls, v):
        if v.spec is not None:
            parse_expression(v.spec)  # raises ConfigError naming the column
        return v

    @field_validator("envelope")
    @classmethod
    def _quantiles(cls, v):
        q = v.quantiles
        if not 0 <= q[0] < q[1] <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {q}")
        return v

    def model(self) -> GoldenBatchModel:
        """The (unfitted) :class:`~golden_batch.GoldenBatchModel` these settings describe."""
        sel = self.selection.model_dump()
        sel["n_components"] = _components(sel["n_components"])
        mpca = self.mpca.model_dump()
        mpca["n_components"] = _components(mpca["n_components"])
        quality = "drop" if self.quality_model == "drop" else QualityPLS(**self.quality_model.model_dump())
        return GoldenBatchModel(GoldenSelector(**sel), aligner=Aligner(**self.aligner.model_dump()),
                                envelope=Envelope(**self.envelope.model_dump()), mpca=BatchPCA(**mpca),
                                quality_model=quality, include_warp=self.include_warp)
