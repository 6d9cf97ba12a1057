"""Exit codes of ``twin``: 0 ok, 1 run failure, 2 user input error (docs/configuration.md, "Exit codes").

Operating-system errors (read-only folder, full disk, a file where a folder is needed) end in one
line naming the path and the errno, never a traceback.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from tests._tmpfs import mounted_tmpfs
from twin_app.cli._common import describe_os_error
from twin_app.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
SMALL_LINE = str(SCENARIOS / "assembly_line_twin_model.yaml")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("a regular file\n")
    (tmp_path / "bad.yaml").write_text("kind: line\nname: x\nstations: 3\n")
    (tmp_path / "bad.nc").write_text("not NetCDF\n")
    return tmp_path


CASES = [
    # (label, argv, exit code, text on stderr)
    ("ok", ["config", "validate", SMALL_LINE], 0, ""),
    ("ok run", ["run", SMALL_LINE, "-n", "2", "--json"], 0, ""),
    ("bad option", ["run", SMALL_LINE, "--no-such-option"], 2, "No such option"),
    ("unknown command", ["no-such-command"], 2, "No such command"),
    ("bad config", ["config", "validate", "bad.yaml"], 2, "bad.yaml:3"),
    ("bad config run", ["run", "bad.yaml"], 2, "bad.yaml:3"),
    ("missing config", ["run", "missing.yaml"], 2, "missing.yaml: file not found"),
    ("missing data file", ["life", "fit", "missing.csv"], 2, "missing.csv"),
    ("missing result file", ["report", "missing.nc", "-o", "r.html"], 2, "missing.nc"),
    ("absurd run", ["run", SMALL_LINE, "--set", "experiment.horizon=900 a"], 2, "--yes"),
    (
        "output under a file",
        ["run", SMALL_LINE, "-n", "2", "--out", "file.txt/out.nc"],
        2,
        "file.txt: ",
    ),
    ("run failure", ["report", "bad.nc", "-o", "r.html"], 1, "bad.nc: not a readable NetCDF file"),
]


@pytest.mark.parametrize(("label", "argv", "code", "text"), CASES, ids=[c[0] for c in CASES])
def test_exit_codes(files, capsys, label, argv, code, text):
    assert main(argv) == code, label
    err = capsys.readouterr().err
    assert text in err
    assert "Traceback" not in err


def test_write_under_a_regular_file_is_one_line(files, capsys):
    assert main(["run", SMALL_LINE, "-n", "2", "--json", "--report", "file.txt/sub/r.html"]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "file.txt" in lines[0]
    assert "(EEXIST)" in lines[0] or "(ENOTDIR)" in lines[0]


def test_full_and_read_only_disk_are_one_line_exit_1(tmp_path):
    with mounted_tmpfs(tmp_path / "mnt", "16k") as (mnt, _resize):
        out = mnt / "out.nc"
        cmd = [
            sys.executable,
            "-m",
            "twin_app.cli.main",
            "run",
            SMALL_LINE,
            "-n",
            "2",
            "--json",
            "--out",
            str(out),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 1, r.stderr[-2000:]
        assert f"error: {out}: No space left on device (ENOSPC)" in r.stderr
        assert "Traceback" not in r.stderr and not out.exists()  # the partial file is removed
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 1, r.stderr[-2000:]
        assert (
            f"error: {out}: Read-only file system (EROFS)" in r.stderr
            and "Traceback" not in r.stderr
        )


@pytest.mark.parametrize(
    ("exc", "text", "code"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "/x/out.nc"),
            "/x/out.nc: Permission denied (EACCES)",
            1,
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file", b"/x/in.csv"),
            "/x/in.csv: No such file or directory (ENOENT)",
            2,
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "a.txt/b"),
            "a.txt/b: Not a directory (ENOTDIR)",
            2,
        ),
        (
            OSError(
                errno.ENOSPC, "Can't write (file write failed: name = '/d/t.nc', errno = 28,\n ...)"
            ),
            "/d/t.nc: No space left on device (ENOSPC)",
            1,
        ),
        (OSError("something odd\nsecond line"), "something odd", 1),
    ],
)
def test_os_error_lines(exc, text, code):
    line, exit_code = describe_os_error(exc)
    assert line.startswith(text) and "\n" not in line
    assert exit_code == code


def test_read_only_folder_without_root(files, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; the tmpfs test covers EROFS")
    folder = files / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert main(["run", SMALL_LINE, "-n", "2", "--json", "--out", str(folder / "out.nc")]) == 1
    finally:
        folder.chmod(0o700)
    err = capsys.readouterr().err
    assert f"{folder / 'out.nc'}: Permission denied (EACCES)" in err and "Traceback" not in err
