#!/usr/bin/env bash
# Build Pyomo's libpynumero_ASL.so (needed by Pyomo's "cyipopt" solver interface) into
# <venv>/pyomo/lib, where optimization._solvers looks for it (it also sets PYOMO_CONFIG_DIR).
#
# Sources: pyomo/contrib/pynumero/src inside the installed pyomo package; AMPL solver library
# from Debian's libamplsolver-dev (listed in scripts/apt-packages.txt). Ipopt itself comes
# with the cyipopt-wheels PyPI package, so no HSL/MA27/MA57 is built.
#
# Idempotent: exits in well under a second when the library is present and matches the
# installed pyomo version (stamp file). Usage: scripts/build-pynumero-asl.sh [PYTHON]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PY="${1:-${PY:-$here/../.venv/bin/python}}"
prefix="$("$PY" -c 'import sys; print(sys.prefix)')"
pyomo_dir="$("$PY" -c 'import os, pyomo; print(os.path.dirname(pyomo.__file__))')"
pyomo_ver="$("$PY" -c 'import pyomo; print(pyomo.__version__)')"
dest="$prefix/pyomo/lib"
lib="$dest/libpynumero_ASL.so"
stamp="$dest/.pynumero_ASL-pyomo-$pyomo_ver"
if [[ -f "$lib" && -f "$stamp" ]]; then
  exit 0
fi
asl_inc=/usr/include/ampl-netlib-solvers
asl_lib=/usr/lib/x86_64-linux-gnu/libamplsolver.so
if [[ ! -f "$asl_inc/asl.h" || ! -f "$asl_lib" ]]; then
  # multiarch other than x86_64
  asl_lib="$(ls /usr/lib/*/libamplsolver.so 2>/dev/null | head -n1 || true)"
  if [[ ! -f "$asl_inc/asl.h" || -z "$asl_lib" ]]; then
    echo "build-pynumero-asl: libamplsolver-dev is missing (run: make apt)" >&2
    exit 1
  fi
fi
command -v cmake >/dev/null || { echo "build-pynumero-asl: cmake is missing (run: make apt)" >&2; exit 1; }
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
echo "building libpynumero_ASL.so for pyomo $pyomo_ver into $dest"
cmake -S "$pyomo_dir/contrib/pynumero/src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DASL_INCLUDE_DIR="$asl_inc" -DASL_LIBRARY="$asl_lib" \
  -DBUILD_MA27=OFF -DBUILD_MA57=OFF -DCMAKE_INSTALL_PREFIX="$build/install" >"$build/cmake.log" 2>&1 \
  || { cat "$build/cmake.log" >&2; exit 1; }
cmake --build "$build" -j 2 >"$build/build.log" 2>&1 || { cat "$build/build.log" >&2; exit 1; }
mkdir -p "$dest"
found="$(find "$build" -name 'libpynumero_ASL.so*' -type f | head -n1)"
[[ -n "$found" ]] || { echo "build-pynumero-asl: no libpynumero_ASL.so produced" >&2; exit 1; }
cp "$found" "$lib"
rm -f "$dest"/.pynumero_ASL-pyomo-*
touch "$stamp"
echo "installed $lib"
