"""Property-based: random values anywhere in real configs (a line scenario, a twin binding, a
campaign, a life model) and random YAML text only ever give a valid config or a ConfigError."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_app.configs import model_for_kind
from workbench.config import load_config, resolve_config
from workbench.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FILES = {
    "line": "assembly_line.yaml",
    "twin-binding": "reactor_twin.yaml",
    "campaign": "reactor_campaign.yaml",
    "life": "pump_station_life.yaml",
}
BASE = {kind: resolve_config(SCENARIOS / name).data for kind, name in FILES.items()}

UNITS = ["", " min", " h", " d", " a", " s", " K", " degC", " %", " m3/h", " minuts", " 1/h"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # any size: 10**30 must be a ConfigError, not an OverflowError
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.builds(
        lambda x, u: f"{x}{u}", st.floats(-1e40, 1e40, allow_nan=False), st.sampled_from(UNITS)
    ),
    st.sampled_from(
        ["exponential(mean=45 min)", "1e30 d", "-1 h", "lognormal(mean=0 s, cv=0.1)", ".inf"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(data, prefix=()):
    """Every path into ``data`` (mapping keys and list indexes)."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


PATHS = {kind: [p for p in _paths(data) if p] for kind, data in BASE.items()}


def _set(data, path, value):
    import copy

    out = copy.deepcopy(data)
    cur = out
    for part in path[:-1]:
        cur = cur[part]
    cur[path[-1]] = value
    return out


def _check(tmp_path, kind: str, text: str) -> None:
    path = tmp_path / FILES[kind]
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path, model_for_kind(kind), kind=kind)
    except ConfigError as exc:
        assert str(exc)
        return
    # a valid config holds only numbers that NumPy and the result stores can hold
    for value in _leaves(config.model_dump()):
        if isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**63, value


def _leaves(data):
    if isinstance(data, dict):
        for v in data.values():
            yield from _leaves(v)
    elif isinstance(data, list | tuple):
        for v in data:
            yield from _leaves(v)
    else:
        yield data


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(kind=st.sampled_from(sorted(FILES)), data=st.data(), value=values)
def test_one_random_value_anywhere(tmp_path, kind, data, value):
    where = data.draw(st.sampled_from(PATHS[kind]))
    _check(tmp_path, kind, yaml.safe_dump(_set(BASE[kind], where, value), allow_unicode=True))


@SETTINGS
@given(kind=st.sampled_from(sorted(FILES)), data=st.data(), value=values, n=st.integers(1, 4))
def test_several_random_values(tmp_path, kind, data, value, n):
    doc = BASE[kind]
    for _ in range(n):
        doc = _set(doc, data.draw(st.sampled_from([p for p in _paths(doc) if p])), value)
    _check(tmp_path, kind, yaml.safe_dump(doc, allow_unicode=True))


@SETTINGS
@given(kind=st.sampled_from(sorted(FILES)), text=st.text(max_size=80), cut=st.floats(0, 1))
def test_random_text_spliced_into_a_real_file(tmp_path, kind, text, cut):
    original = (SCENARIOS / FILES[kind]).read_text()
    i = int(cut * len(original))
    _check(tmp_path, kind, original[:i] + text + original[i:])


def _value_at(data, path):
    for part in path:
        data = data[part]
    return data


INT_LEAVES = [
    (kind, p)
    for kind, paths in PATHS.items()
    for p in paths
    if isinstance(_value_at(BASE[kind], p), int) and not isinstance(_value_at(BASE[kind], p), bool)
]


@SETTINGS
@given(
    where=st.sampled_from(INT_LEAVES), value=st.one_of(st.integers(), st.integers(2**62, 10**40))
)
def test_random_integers_in_integer_fields(tmp_path, where, value):
    kind, path = where
    _check(tmp_path, kind, yaml.safe_dump(_set(BASE[kind], path, value)))
