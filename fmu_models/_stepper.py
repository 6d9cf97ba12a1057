"""The C stepping loop (``_stepper.c``): build with gcc, load with ctypes.

:func:`build_stepper` compiles ``_stepper.c`` into ``fmu_models/build/``
(``twin fmu build`` and the first runtime use do this); :func:`load_stepper`
returns the loaded library or None, in which case the runtime falls back to
its pure-Python/ctypes loop (same results, slower per step).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from workbench.errors import FmuError

__all__ = ["build_stepper", "load_stepper", "STEPPER_NAME"]

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_stepper.c"
STEPPER_NAME = "libwbstepper.so"
_lock = threading.Lock()
_loaded: dict[str, ctypes.CDLL | None] = {}


def _build_dir() -> Path:
    return HERE / "build"


def _fmi_headers() -> Path:
    import fmpy

    return Path(fmpy.__file__).resolve().parent / "c-code"


def build_stepper(out_dir: str | Path | None = None, *, force: bool = False, name: str = STEPPER_NAME) -> Path:
    """Compile ``_stepper.c`` with gcc into ``out_dir`` (default ``fmu_models/build``).

    Parameters
    ----------
    out_dir
        Target folder; created if missing.
    force
        Rebuild even if the library is newer than the source.
    name
        File name of the library.

    Returns
    -------
    pathlib.Path
        The shared library.

    Raises
    ------
    FmuError
        If gcc is missing or the compile fails (with gcc's message).
    """
    out = Path(out_dir) if out_dir is not None else _build_dir()
    lib = out / name
    if lib.exists() and not force and lib.stat().st_mtime >= SOURCE.stat().st_mtime:
        return lib
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise FmuError("building the C stepper needs gcc on PATH (apt-get install gcc); the runtime "
                       "falls back to its slower Python loop without it")
    out.mkdir(parents=True, exist_ok=True)
    # compile to a temporary name and rename, so concurrent builders never see half a file
    fd, tmp = tempfile.mkstemp(prefix=".wbstepper-", suffix=".so", dir=out)
    os.close(fd)
    cmd = [gcc, "-O2", "-shared", "-fPIC", f"-I{_fmi_headers()}", "-o", tmp, str(SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        Path(tmp).unlink(missing_ok=True)
        raise FmuError(f"{SOURCE}: gcc failed ({proc.returncode}): {proc.stderr.strip()}")
    os.replace(tmp, lib)
    return lib


def load_stepper(*, build: bool = True) -> ctypes.CDLL | None:
    """Return the C stepper library, building it on first use; None if unavailable.

    Uses ``fmu_models/build/libwbstepper.so`` when ``twin fmu build`` made it,
    otherwise compiles once into a per-user temporary folder. Set
    ``TWIN_FMU_STEPPER=0`` to force the Python loop.
    """
    if os.environ.get("TWIN_FMU_STEPPER", "1") == "0":
        return None
    with _lock:
        if "lib" in _loaded:
            return _loaded["lib"]
        lib = None
        built = _build_dir() / STEPPER_NAME  # from `twin fmu build` / `make setup`
        cache = Path(tempfile.gettempdir()) / f"twin-workbench-{os.getuid()}"
        # the per-user cache is shared by every checkout: name it by version, so checkouts
        # with another _stepper.c never load each other's library
        for path in (built, cache / f"libwbstepper-v{STEPPER_VERSION}.so"):
            try:
                fresh = path.exists() and path.stat().st_mtime >= SOURCE.stat().st_mtime
                if not fresh and path != built and build:
                    build_stepper(path.parent, name=path.name)  # never writes into the source tree on its own
                    fresh = True
                if fresh:
                    lib = _bind(ctypes.CDLL(str(path)))
                    break
            except (OSError, FmuError):
                continue
        _loaded["lib"] = lib
        return lib


STEPPER_VERSION = 2
"""``wb_stepper_version()`` of the ``_stepper.c`` this module binds (2: typed "extra" getters)."""


class WbExtra(ctypes.Structure):
    """``wb_extra`` of ``_stepper.c``: one typed getter read at every recorded point."""

    _fields_ = [("fn", ctypes.c_void_p), ("vr", ctypes.c_void_p), ("n_vr", ctypes.c_size_t),
                ("n_values", ctypes.c_size_t), ("out", ctypes.c_void_p), ("row_bytes", ctypes.c_size_t)]


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    lib.wb_stepper_version.restype = ctypes.c_int
    if lib.wb_stepper_version() != STEPPER_VERSION:
        raise OSError("stale C stepper library")  # built from an older _stepper.c: rebuild or skip
    vp, d, lng, sz = ctypes.c_void_p, ctypes.c_double, ctypes.c_long, ctypes.c_size_t
    args = [vp, vp, vp, vp, d, d, lng, lng, vp, sz, vp, vp, sz, vp, vp, vp, vp, vp, sz]
    for name in ("wb_run_cs2", "wb_run_cs3"):
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int
    return lib
