"""One FMU binary: extraction cache, instantiation through FMPy, FMI calls that raise FmuError.

Every FMI call that can fail goes through :func:`fmi_call`, which turns FMPy's
``FMICallException`` (and bare exceptions) into :class:`FmuError` naming the
FMU, the function and the FMI status, plus the FMU's last log message.
"""

from __future__ import annotations

import collections
import ctypes
import hashlib
import itertools
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from workbench.errors import FmuError

__all__ = ["STATUS_NAMES", "status_name", "extract_cached", "LoadedFmu"]

STATUS_NAMES = ("OK", "Warning", "Discard", "Error", "Fatal", "Pending")


def status_name(version: int, status: int) -> str:
    """``fmi2Error (3)``-style label of an FMI status code."""
    label = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else "?"
    return f"fmi{version}{label} ({status})"


def _cache_root() -> Path:
    root = os.environ.get("TWIN_FMU_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / f"twin-workbench-{os.getuid()}" / "fmu"


def extract_cached(path: Path) -> Path:
    """Extract an FMU once per content hash and return the folder (reused across processes).

    A folder that already holds ``modelDescription.xml`` is returned as is. The archive is
    extracted into a temporary folder beside the cache entry and renamed into place only
    when every member was read, so a corrupt archive leaves nothing behind; its error
    names the FMU file and the member that could not be read.
    """
    if path.is_dir():
        if not (path / "modelDescription.xml").exists():
            raise FmuError(f"{path}: folder has no modelDescription.xml; give a .fmu file or an extracted FMU")
        return path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    target = _cache_root() / f"{path.stem}-{digest}"
    if (target / "modelDescription.xml").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import shutil

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.stem}-", dir=target.parent))
    member = None
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                member = info.filename
                zf.extract(info, tmp)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if member is None:
            raise FmuError(f"{path}: not an FMU ZIP archive ({exc})") from exc
        raise FmuError(f"{path}: the FMU archive is corrupt: member '{member}' cannot be extracted "
                       f"({type(exc).__name__}: {exc}); export or download the FMU again") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.rename(tmp, target)
    except OSError:  # another process won the race; use its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class LoadedFmu:
    """An instantiated FMU (fmpy object) with a log buffer and raw function pointers.

    Parameters
    ----------
    name
        Label used in messages (the FMU file name).
    md
        fmpy ``ModelDescription``.
    unzipdir
        Folder of the extracted FMU.
    interface
        ``"cs"`` or ``"me"``.
    logging
        Ask the FMU for debug logging (messages are kept in :attr:`log`).
    """

    def __init__(self, name: str, md: Any, unzipdir: Path, interface: str, *, logging: bool = False):
        self.name = name
        self.md = md
        self.unzipdir = unzipdir
        self.interface = interface
        self.version = md.fmiMajorVersion
        self.log: collections.deque[tuple[int, str, str]] = collections.deque(maxlen=50)
        self._env_id = next(_ENV_IDS)
        _LOGS[self._env_id] = self.log
        self._logging = logging
        self.fmu = self._instantiate()

    # -- creation -----------------------------------------------------------------------
    def _instantiate(self) -> Any:
        from fmpy import fmi2, fmi3

        md, cs = self.md, self.interface == "cs"
        itf = md.coSimulation if cs else md.modelExchange
        if itf is None:
            have = [k for k, v in (("cs", md.coSimulation), ("me", md.modelExchange)) if v is not None]
            if not have and getattr(md, "scheduledExecution", None) is not None:
                raise FmuError(
                    f"{self.name}: FMU {md.modelName!r} offers only scheduled execution (FMI 3 clocks), "
                    "which twin workbench does not run; export it with a co-simulation or "
                    "model-exchange interface"
                )
            raise FmuError(
                f"{self.name}: interface {self.interface!r} is not provided by this FMU; "
                f"it offers {', '.join(have) or 'none'}"
            )
        kwargs = {"guid": md.guid, "modelIdentifier": itf.modelIdentifier,
                  "unzipDirectory": str(self.unzipdir), "instanceName": self.name}
        try:
            if self.version == 2:
                cls = fmi2.FMU2Slave if cs else fmi2.FMU2Model
                fmu = cls(**kwargs)
                self._callbacks = fmi2.fmi2CallbackFunctions()
                # FMPy's variadic-formatting proxy keeps one logger per process, so every
                # instance shares one dispatcher that routes by componentEnvironment.
                self._callbacks.logger = _dispatcher2()
                self._callbacks.componentEnvironment = self._env_id
                self._callbacks.allocateMemory = fmi2.fmi2CallbackAllocateMemoryTYPE(_calloc())
                self._callbacks.freeMemory = fmi2.fmi2CallbackFreeMemoryTYPE(_free())
                from fmpy.logging import addLoggerProxy

                addLoggerProxy(ctypes.byref(self._callbacks))
                fmu.instantiate(callbacks=self._callbacks, loggingOn=self._logging)
            elif self.version == 3:
                cls = fmi3.FMU3Slave if cs else fmi3.FMU3Model
                fmu = cls(**kwargs)
                fmu.instantiate(loggingOn=self._logging, logMessage=self._log3)
            else:
                raise FmuError(f"{self.name}: FMI {md.fmiVersion} is not supported; use FMI 2.0 or 3.0")
        except FmuError:
            raise
        except Exception as exc:  # fmpy raises bare Exception on load/instantiate
            raise FmuError(f"{self.name}: cannot load or instantiate the FMU ({exc}){self.last_log()}") from exc
        return fmu

    def _log3(self, env: Any, status: int, category: bytes, message: bytes) -> None:
        self.log.append((status, _text(category), _text(message)))

    def last_log(self) -> str:
        """``"; FMU says: …"`` with the last warning/error message, or ``""``."""
        for status, _cat, msg in reversed(self.log):
            if status >= 1:
                return f"; FMU says: {msg}"
        return ""

    # -- calls ----------------------------------------------------------------------------
    def call(self, fname: str, *args: Any, at: float | None = None) -> Any:
        """Call the fmpy high-level method ``fname`` and turn failures into :class:`FmuError`."""
        try:
            return getattr(self.fmu, fname)(*args)
        except Exception as exc:
            raise self.error(exc, fname, at) from exc

    def error(self, exc: BaseException | None, fname: str, at: float | None, status: int | None = None) -> FmuError:
        """Build the :class:`FmuError` for a failed call."""
        status = getattr(exc, "status", status)
        func = getattr(exc, "function", None) or fname
        where = f" at t = {at:.9g} s" if at is not None else ""
        what = status_name(self.version, status) if status is not None else str(exc)
        err = FmuError(f"{self.name}: {func} failed{where} with {what}{self.last_log()}")
        err.fmu, err.function, err.status, err.time = self.name, func, status, at
        return err

    def pointer(self, fname: str) -> int:
        """Address of an FMI C function in the FMU's shared library."""
        return ctypes.cast(getattr(self.fmu.dll, fname), ctypes.c_void_p).value

    def free(self) -> None:
        """Free the instance and unload the library (idempotent)."""
        fmu, self.fmu = getattr(self, "fmu", None), None
        _LOGS.pop(getattr(self, "_env_id", None), None)
        if fmu is not None and fmu.component:
            try:
                fmu.freeInstance()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


_ENV_IDS = itertools.count(1)
_LOGS: dict[int, collections.deque] = {}
_DISPATCH: list[Any] = []


def _log_dispatch(env: Any, instance: bytes, status: int, category: bytes, message: bytes) -> None:
    log = _LOGS.get(env or 0)
    if log is not None:
        log.append((status, _text(category), _text(message)))


def _dispatcher2() -> Any:
    if not _DISPATCH:
        from fmpy import fmi2

        _DISPATCH.append(fmi2.fmi2CallbackLoggerTYPE(_log_dispatch))
    return _DISPATCH[0]


def _calloc() -> Any:
    from fmpy import calloc

    return calloc


def _free() -> Any:
    from fmpy import free

    return free
