"""Property-based: random YAML and random field values only ever raise ConfigError."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workbench.models import Scenario
from workbench.config import load_config
from workbench.errors import ConfigError

FIELDS = ["line", "name", "stations", "cycle_time", "servers", "failure", "mtbf", "mttr", "type",
          "coolant", "feed", "scrap", "seed", "extends", "overrides", "kind"]
UNITS = ["", " min", " h", " s", " K", " degC", " %", " m3/h", " kg", " minuts", " 1/h", "e400 s"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
    st.text(max_size=12),
    st.builds(lambda x, u: f"{x}{u}", st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from(UNITS)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load(tmp_path, text: str):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if False else path.write_bytes(
        text.encode("utf-8", errors="replace")
    )
    try:
        load_config(path, Scenario)
    except ConfigError as exc:
        assert str(exc)  # a message, never empty


@SETTINGS
@given(text=st.text(max_size=200))
def test_random_text_only_config_errors(tmp_path, text):
    _load(tmp_path, text)


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(FIELDS), values, max_size=5))
def test_random_structures_only_config_errors(tmp_path, data):
    _load(tmp_path, yaml.safe_dump(data))


@SETTINGS
@given(
    servers=values, cycle=values, mttr=values,
    override_key=st.text(max_size=30), override_value=values,
)
def test_random_field_values_and_overrides_only_config_errors(tmp_path, servers, cycle, mttr,
                                                                 override_key, override_value):
    doc = {
        "line": {
            "name": "l",
            "stations": [{"name": "a", "servers": servers, "cycle_time": cycle,
                          "failure": {"mtbf": "1 h", "mttr": mttr}}],
        },
        "overrides": {override_key: override_value},
    }
    _load(tmp_path, yaml.safe_dump(doc))
