"""Config model of an envelope build (``kind: golden-build``).

Example ``golden.yaml``::

    kind: golden-build
    select: "yield_C >= 0.9 and impurity_D < 0.02"
    alignment: dtw
    band: 0.2
    k_sigma: 3
    alpha: 0.01
    n_components: 0.8
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from golden_batch._expr import parse_expression
from workbench.config import WorkbenchModel

__all__ = ["GoldenBuildConfig"]


class GoldenBuildConfig(WorkbenchModel):
    """Settings of :class:`~golden_batch.GoldenBatchModel` as a validated config."""

    kind: Literal["golden-build"] = "golden-build"
    select: str | None = Field(None, description="KPI spec, e.g. 'yield >= 0.9 and impurity < 0.02'")
    alignment: Literal["dtw", "elapsed", "indicator"] = "dtw"
    indicator: str | None = Field(None, description="maturity variable for alignment: indicator")
    variables: list[str] | None = None
    n_points: int = Field(200, ge=10, le=100_000)
    band: float = Field(0.2, gt=0, le=1)
    k_sigma: float = Field(3.0, gt=0)
    quantiles: tuple[float, float] = (0.005, 0.995)
    envelope_band: Literal["sigma", "quantile", "union"] = "sigma"
    alpha: float = Field(0.01, gt=0, lt=1)
    n_components: float = Field(0.8, gt=0, description="int >= 1: components; in (0, 1): variance fraction")
    spe_method: Literal["box", "jackson-mudholkar"] = "box"
    quality: list[str] | None = None
    include_warp: bool = True
    outlier_alpha: float | None = Field(0.01, gt=0, lt=1)
    max_modes: int = Field(3, ge=1, le=10)
    seed: int = 0

    @field_validator("select")
    @classmethod
    def _parse(cls, v: str | None) -> str | None:
        if v is not None:
            parse_expression(v)  # raises ConfigError naming the column
        return v

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] < v[1] <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {v}")
        return v

    def model(self):
        """The (unfitted) :class:`~golden_batch.GoldenBatchModel` these settings describe."""
        from golden_batch._monitor import GoldenBatchModel

        params = self.model_dump(exclude={"kind"})
        nc = params["n_components"]
        params["n_components"] = int(nc) if nc >= 1 else float(nc)
        return GoldenBatchModel(**params)
