"""The estimator contract of ``golden_batch`` (scikit-learn's).

* ``__init__`` only stores its arguments; ``get_params``, ``set_params`` and the
  ``repr`` read them from the ``__init__`` signature
  (:class:`sklearn.base.BaseEstimator`), so :func:`sklearn.base.clone` works;
* ``fit`` returns ``self``; learned attributes end in ``_``;
* :func:`check_is_fitted` raises :class:`~workbench.errors.NotFittedError` naming
  the estimator and the method to call first;
* :func:`params_to_json` / :func:`estimator_from_json` write ``get_params()``
  (nested estimators included) as JSON for NetCDF attributes and rebuild the
  estimator from it, so save/load never list parameters by hand.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from workbench.errors import DatasetError, NotFittedError, did_you_mean

__all__ = ["GoldenEstimator", "check_is_fitted", "params_to_json", "estimator_from_json", "renamed_kwargs"]

_REGISTRY: dict[str, type[GoldenEstimator]] = {}


class GoldenEstimator(BaseEstimator):
    """Base of the ``golden_batch`` estimators (scikit-learn's ``BaseEstimator``).

    Subclasses set ``_fit_hint`` (what to call, e.g. ``"fit(aligned_batches)"``) and
    ``_fitted_attribute`` (the learned attribute that exists once fitted). Every
    subclass is registered by name for :func:`estimator_from_json` (only these
    classes can be rebuilt from a file: no arbitrary imports, no pickle).
    """

    _fit_hint = "fit(...)"
    _fitted_attribute: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __sklearn_is_fitted__(self) -> bool:
        if self._fitted_attribute is not None:
            return self._fitted_attribute in vars(self)
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))


def check_is_fitted(estimator: Any, method: str | None = None) -> None:
    """Raise :class:`~workbench.errors.NotFittedError` unless ``estimator`` is fitted.

    Parameters
    ----------
    estimator
        A ``golden_batch`` estimator (or any object with ``__sklearn_is_fitted__`` or
        learned attributes ending in ``_``).
    method
        What to call first (default: the estimator's ``_fit_hint``).
    """
    is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
    fitted = is_fitted() if is_fitted is not None else any(
        k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    if not fitted:
        name = type(estimator).__name__
        hint = method or getattr(estimator, "_fit_hint", "fit(...)")
        raise NotFittedError(f"this {name} is not fitted yet; call {hint} first")


def renamed_kwargs(owner: str, kwargs: Mapping[str, Any], renames: Mapping[str, str],
                   valid: Iterable[str] = ()) -> dict[str, Any]:
    """Map deprecated keyword arguments to their new names, with a DeprecationWarning each.

    Parameters
    ----------
    owner
        Class name for the messages.
    kwargs
        The extra keyword arguments the caller gave.
    renames
        Old name → new name.
    valid
        The current parameter names (for the did-you-mean of an unknown name).

    Raises
    ------
    TypeError
        For a name that is neither current nor deprecated (as Python would).
    """
    out: dict[str, Any] = {}
    for old, value in kwargs.items():
        if old not in renames:
            raise TypeError(f"{owner}() got an unexpected keyword argument '{old}'; "
                            f"{did_you_mean(old, [*valid, *renames])}")
        warnings.warn(f"{owner}({old}=...) is deprecated and will be removed in the next release; "
                      f"use {owner}({renames[old]}=...)", DeprecationWarning, stacklevel=3)
        out[renames[old]] = value
    return out


# ----------------------------------------------------------------- parameters as JSON
def _encode(value: Any, where: str) -> Any:
    if isinstance(value, BaseEstimator):
        name = type(value).__name__
        if _REGISTRY.get(name) is not type(value):
            raise DatasetError(f"parameter {where} is a {name}; only golden_batch estimators "
                               f"({', '.join(sorted(_REGISTRY))}) can be saved")
        return {"__estimator__": name,
                "params": {k: _encode(v, f"{where}.{k}") for k, v in value.get_params(deep=False).items()}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise DatasetError(f"parameter {where} = {value!r} ({type(value).__name__}) cannot be saved; "
                       "give a number, string, list, tuple, mapping or golden_batch estimator")


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__estimator__" in obj:
            name = obj["__estimator__"]
            cls = _REGISTRY.get(name)
            if cls is None:
                raise DatasetError(f"saved parameters name estimator '{name}', which this version does not "
                                   f"have; {did_you_mean(str(name), _REGISTRY)}")
            params = {k: _decode(v) for k, v in obj.get("params", {}).items()}
            try:
                return cls(**params)
            except TypeError as exc:
                raise DatasetError(f"saved parameters of {name} do not fit this version ({exc}); "
                                   "was the file written by a newer workbench?") from None
        if "__tuple__" in obj:
            return tuple(_decode(v) for v in obj["__tuple__"])
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def params_to_json(estimator: GoldenEstimator) -> str:
    """``get_params()`` of ``estimator`` (nested estimators included) as a JSON string."""
    return json.dumps(_encode(estimator, type(estimator).__name__))


def estimator_from_json(text: str, expected: type | None = None) -> GoldenEstimator:
    """Rebuild the (unfitted) estimator written by :func:`params_to_json`.

    Raises
    ------
    DatasetError
        If the text is not such JSON, names an unknown estimator, or is not an ``expected``.
    """
    try:
        obj = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"saved estimator parameters are not JSON ({exc})") from None
    if not isinstance(obj, dict) or "__estimator__" not in obj:
        raise DatasetError("saved estimator parameters lack '__estimator__'; not written by params_to_json")
    est = _decode(obj)
    if expected is not None and not isinstance(est, expected):
        raise DatasetError(f"saved parameters describe a {type(est).__name__}, not a {expected.__name__}")
    return est
