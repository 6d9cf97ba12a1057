"""YAML safety: a size limit on config files and an alias-expansion ("billion laughs") limit."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench._yaml import MAX_ALIAS_NODES, MAX_YAML_BYTES, read_yaml
from workbench.config import resolve_config
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def laughs(levels: int, width: int = 9) -> str:
    """The classic "billion laughs" document with ``levels`` levels of ``width`` aliases each."""
    lines = ['a0: &a0 ["lol"' + ', "lol"' * (width - 1) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:  # run in the child: 2 GiB of address space, 60 s of CPU
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


def test_classic_billion_laughs_is_refused_with_file_and_line(tmp_path):
    # in a child process with a memory cap: without the limit the expansion would need > 6 GB
    path = tmp_path / "lol.yaml"
    path.write_text(laughs(9))
    code = textwrap.dedent(f"""
        from pathlib import Path
        from workbench.config import resolve_config
        from workbench.errors import ConfigError
        try:
            resolve_config(Path({str(path)!r}))
        except ConfigError as exc:
            print("CONFIGERROR", exc)
    """)
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        preexec_fn=_limit_memory,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert out.startswith("CONFIGERROR"), out
    assert f"{path}:" in out and "billion laughs" in out
    # the alias that crosses the limit is on the level whose expansion first exceeds it
    line = int(out.split(f"{path}:")[1].split(":")[0])
    assert 2 <= line <= 10


def test_moderate_alias_bomb_is_refused_before_it_is_built(tmp_path):
    # 9**6 = 531,441 repeated values: buildable, but over the limit
    path = tmp_path / "lol.yaml"
    path.write_text("kind: line\n" + laughs(6))
    with pytest.raises(
        ConfigError, match=r"aliases expand this document past 100,000 values"
    ) as info:
        resolve_config(path)
    assert (
        info.value.source == str(path)
        and info.value.line is not None
        and info.value.column is not None
    )


def test_recursive_alias_is_refused_with_its_line():
    with pytest.raises(ConfigError, match="recursive structure") as info:
        read_yaml("x: 1\na: &a [1, *a]\n", source="rec.yaml")
    assert (info.value.source, info.value.line) == ("rec.yaml", 2)


def test_anchors_and_merge_keys_keep_working():
    text = textwrap.dedent("""
        defaults: &defaults {servers: 1, buffer: 4, process_time: "1 min"}
        stations:
          - {<<: *defaults, name: a}
          - {<<: *defaults, name: b, buffer: 8}
        same: *defaults
    """)
    data, positions = read_yaml(text)
    assert data["stations"][1] == {"servers": 1, "buffer": 8, "process_time": "1 min", "name": "b"}
    assert data["same"] == data["defaults"]
    assert positions[("stations", 1, "name")][1] == 5


def test_aliases_up_to_the_limit_are_read():
    # 100 aliases of a 999-value list: 99,900 + 100 values, just under the limit
    text = "a: &a [" + ", ".join(["0"] * 998) + "]\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    data, _ = read_yaml(text)
    assert len(data["b"]) == 100 and len(data["b"][99]) == 998
    assert 100 * 999 <= MAX_ALIAS_NODES


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w") as fh:
        fh.write("kind: line\nitems:\n")
        line = "  - 0123456789012345678901234567890123456789\n"
        fh.write(line * (MAX_YAML_BYTES // len(line) + 10))
    with pytest.raises(ConfigError, match="larger than 5 MiB") as info:
        resolve_config(path)
    assert info.value.source == str(path)


def test_oversized_text_is_refused():
    with pytest.raises(ConfigError, match="longer than"):
        read_yaml("x: " + "y" * MAX_YAML_BYTES)
