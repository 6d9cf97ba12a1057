"""Run rules on a Shewhart chart: Western Electric (1956) and Nelson (1984).

The rules look at the standardised statistic ``z = (x - centre) / σ_x`` of each
plotted point (σ_x the standard deviation of the plotted statistic, so ``|z| > 3``
is "beyond the control limits"). A rule *fires at* the point that completes its
pattern; a pattern that persists fires again at each further point that
continues it (e.g. the 9th and the 10th point of a run on one side).

Western Electric, *Statistical Quality Control Handbook* (1956); Montgomery,
*Introduction to Statistical Quality Control*, 7th ed., 2013, §5.3.6, Table 5.1:

* ``WE1`` one point beyond 3σ;
* ``WE2`` two of three consecutive points beyond 2σ on the same side (the
  firing point among them);
* ``WE3`` four of five consecutive points beyond 1σ on the same side (the
  firing point among them);
* ``WE4`` eight consecutive points on the same side of the centre line.

Nelson, "The Shewhart control chart — tests for special causes", *J. Quality
Technology* 16(4), 1984, 237–239:

* ``N1`` one point beyond 3σ;
* ``N2`` nine points in a row on the same side of the centre line;
* ``N3`` six points in a row steadily increasing or decreasing;
* ``N4`` fourteen points in a row alternating up and down;
* ``N5`` two of three points beyond 2σ on the same side;
* ``N6`` four of five points beyond 1σ on the same side;
* ``N7`` fifteen points in a row within 1σ (either side);
* ``N8`` eight points in a row beyond 1σ, on either side (none within 1σ).

A point exactly on the centre line (``z == 0``) is on neither side: it ends a run.
A NaN point (missing) is on neither side and within 1σ for the counting rules,
ends every run, and never fires itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RULE_SETS", "RULES", "Signal", "apply_rules", "first_signal", "rule_set"]

#: rule name -> one-line description
RULES: dict[str, str] = {
    "WE1": "1 point beyond 3σ",
    "WE2": "2 of 3 points beyond 2σ, same side",
    "WE3": "4 of 5 points beyond 1σ, same side",
    "WE4": "8 points in a row on one side of the centre line",
    "N1": "1 point beyond 3σ",
    "N2": "9 points in a row on one side of the centre line",
    "N3": "6 points in a row steadily increasing or decreasing",
    "N4": "14 points in a row alternating up and down",
    "N5": "2 of 3 points beyond 2σ, same side",
    "N6": "4 of 5 points beyond 1σ, same side",
    "N7": "15 points in a row within 1σ",
    "N8": "8 points in a row beyond 1σ, either side",
    "limit": "1 point beyond the control limits",
}

#: rule-set name -> rules
RULE_SETS: dict[str, tuple[str, ...]] = {
    "western-electric": ("WE1", "WE2", "WE3", "WE4"),
    "nelson": ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"),
    "none": ("limit",),
}


@dataclass(frozen=True)
class Signal:
    """One point at which a rule fired.

    Attributes
    ----------
    rule
        Rule name (``WE1`` … ``N8``, ``limit``, ``ewma``, ``cusum+``, ``cusum-``).
    index
        Position of the point on the chart (0-based).
    value
        The plotted statistic at that point.
    chart
        Which chart of the pair: ``"primary"`` (X, X̄, p, …) or ``"dispersion"`` (MR, R, S).
    label
        The point's time or subgroup label, as text.
    """

    rule: str
    index: int
    value: float
    chart: str = "primary"
    label: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "description": RULES.get(self.rule, self.rule), "chart": self.chart,
                "index": self.index, "label": self.label, "value": self.value}


def rule_set(name: str | None) -> tuple[str, ...]:
    """The rules of a rule-set name (``western-electric``, ``nelson``, ``none``) or a comma list of rules."""
    from workbench.errors import ConfigError, did_you_mean

    if name is None:
        return RULE_SETS["western-electric"]
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in RULE_SETS:
        return RULE_SETS[key]
    parts = [p.strip().upper() for p in name.split(",") if p.strip()]
    if parts and all(p in RULES and p != "LIMIT" for p in parts):
        return tuple(parts)
    bad = next((p for p in parts if p not in RULES), name)
    raise ConfigError(f"unknown run rules {bad!r}; use one of {', '.join(RULE_SETS)} or a comma list of "
                      f"{', '.join(r for r in RULES if r != 'limit')}{did_you_mean(key, list(RULE_SETS))}")


def _windows(flag: np.ndarray, m: int) -> np.ndarray:
    """Count of True in the window of the last ``m`` points ending at each point (shorter at the start)."""
    c = np.concatenate([[0], np.cumsum(flag.astype(np.int64))])
    idx = np.arange(flag.size)
    return c[idx + 1] - c[np.maximum(idx + 1 - m, 0)]


def _run(flag: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each point."""
    pos = np.arange(flag.size)
    last_false = np.maximum.accumulate(np.where(flag, -1, pos))
    return pos - last_false


def _k_of_m_same_side(z: np.ndarray, k: int, m: int, a: float) -> np.ndarray:
    up = z > a
    down = z < -a
    return (up & (_windows(up, m) >= k)) | (down & (_windows(down, m) >= k))


def _fires(z: np.ndarray, rule: str, lcl_z: np.ndarray, ucl_z: np.ndarray) -> np.ndarray:
    valid = np.isfinite(z)
    zz = np.where(valid, z, 0.0)
    if rule in ("WE1", "N1", "limit"):
        return valid & ((zz > ucl_z) | (zz < lcl_z))
    if rule in ("WE2", "N5"):
        return valid & _k_of_m_same_side(zz, 2, 3, 2.0)
    if rule in ("WE3", "N6"):
        return valid & _k_of_m_same_side(zz, 4, 5, 1.0)
    if rule in ("WE4", "N2"):
        n = 8 if rule == "WE4" else 9
        return (_run(valid & (zz > 0)) >= n) | (_run(valid & (zz < 0)) >= n)
    if rule == "N3":  # 6 points in a row increasing: 5 consecutive increases
        d = np.diff(zz)
        dv = valid[1:] & valid[:-1]
        inc = np.concatenate([[False], dv & (d > 0)])
        dec = np.concatenate([[False], dv & (d < 0)])
        return (_run(inc) >= 5) | (_run(dec) >= 5)
    if rule == "N4":  # 14 points alternating: 13 consecutive differences of alternating sign
        d = np.diff(zz)
        dv = valid[1:] & valid[:-1]
        alt = np.concatenate([[False, False], dv[1:] & dv[:-1] & (d[1:] * d[:-1] < 0)])
        return _run(alt) >= 12
    if rule == "N7":
        return _run(valid & (np.abs(zz) < 1.0)) >= 15
    if rule == "N8":
        return _run(valid & (np.abs(zz) > 1.0)) >= 8
    raise ValueError(f"unknown rule {rule!r}")


def apply_rules(
    z: np.ndarray,
    rules: tuple[str, ...] | list[str],
    *,
    values: np.ndarray | None = None,
    labels: list[str] | None = None,
    chart: str = "primary",
    lcl_z: np.ndarray | float = -3.0,
    ucl_z: np.ndarray | float = 3.0,
) -> list[Signal]:
    """Every point at which one of ``rules`` fires, ordered by index then rule.

    Parameters
    ----------
    z
        Standardised statistic per point, ``(x - centre) / σ_x``; NaN for a missing point.
    rules
        Rule names (see :data:`RULES`).
    values
        The plotted statistic (reported in each :class:`Signal`; default ``z``).
    labels
        Time or subgroup label per point.
    chart
        Chart name put in the signals.
    lcl_z, ucl_z
        The control limits in ``z`` units for the beyond-the-limits rules
        (``WE1``/``N1``/``limit``); ±3 unless a limit is clipped (e.g. a p chart at 0).
    """
    z = np.asarray(z, dtype=float)
    vals = z if values is None else np.asarray(values, dtype=float)
    lo = np.broadcast_to(np.asarray(lcl_z, dtype=float), z.shape)
    hi = np.broadcast_to(np.asarray(ucl_z, dtype=float), z.shape)
    out: list[Signal] = []
    for rule in rules:
        for i in np.flatnonzero(_fires(z, rule, lo, hi)):
            out.append(Signal(rule, int(i), float(vals[i]), chart, "" if labels is None else str(labels[i])))
    out.sort(key=lambda s: (s.index, list(rules).index(s.rule)))
    return out


def first_signal(z: np.ndarray, rules: tuple[str, ...] | list[str]) -> int:
    """Index of the first point at which any rule fires (``-1`` for none): a run length minus one."""
    z = np.asarray(z, dtype=float)
    lo = np.full(z.shape, -3.0)
    hi = np.full(z.shape, 3.0)
    best = -1
    for rule in rules:
        hits = np.flatnonzero(_fires(z, rule, lo, hi))
        if hits.size and (best < 0 or hits[0] < best):
            best = int(hits[0])
    return best
