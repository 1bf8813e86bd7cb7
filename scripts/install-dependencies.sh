#!/usr/bin/env bash
# Installs what idzip needs beyond the Swift toolchain, only where it is missing:
# Debian packages (zlib, OpenBLAS, libpng, MuJoCo, pkg-config, gcc, Python, Fashion-MNIST, librsvg2-bin, GNU time) and, in a
# virtual environment at .venv/, the Python packages the cross-checks use (numpy, safetensors, pytest; onnx and
# onnxruntime check `idzip export --format onnx`; gymnasium and mujoco check the reinforcement-learning
# environments against Gymnasium) and the repository's own Python package (python/,
# installed editable so that the tests use this checkout's code).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pkg-config --exists zlib 2>/dev/null || need_apt+=(zlib1g-dev)
pkg-config --exists openblas 2>/dev/null || need_apt+=(libopenblas-dev)
pkg-config --exists libpng 2>/dev/null || need_apt+=(libpng-dev)
# MuJoCo 2.2.2, the physics of the InvertedPendulum environment (the CMujoco system library target;
# Debian's package ships no pkg-config file, so the header is the test).
[ -f /usr/include/mujoco/mujoco.h ] || need_apt+=(libmujoco-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# gcc compiles the headers of `idzip export --format c` in the tests (Tests/python/test_c_header.py).
command -v gcc >/dev/null || need_apt+=(gcc)
command -v python3 >/dev/null || need_apt+=(python3)
# rsvg-convert renders sweep plots (SVG) to PNG in the tests (Tests/python/test_sweep_plot.py).
command -v rsvg-convert >/dev/null || need_apt+=(librsvg2-bin)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv python3-pip)
# GNU time measures the peak memory of idzip runs against their memory estimate (TrainingMemoryCommandTests).
[ -x /usr/bin/time ] || need_apt+=(time)
# Fashion-MNIST, a named data set (`--data fashion-mnist`) that the tests load for real.
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need_apt[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import numpy, safetensors, pytest, onnx, onnxruntime, gymnasium, mujoco, imageio' 2>/dev/null; then
    echo "installing Python packages into .venv: numpy safetensors pytest onnx onnxruntime gymnasium mujoco imageio"
    .venv/bin/python -m pip install -q --disable-pip-version-check numpy safetensors pytest onnx onnxruntime gymnasium mujoco imageio
fi
# The idzip Python package: editable, so the suite tests this checkout's python/ sources; reinstalled
# only when it is missing, comes from another directory, or its version differs from pyproject.toml.
package_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' python/pyproject.toml)
if ! .venv/bin/python - "$package_version" 2>/dev/null <<'PY'
import importlib.metadata, os, sys
import idzip
assert os.path.realpath(idzip.__file__) == os.path.realpath("python/idzip/__init__.py")
assert importlib.metadata.version("idzip") == sys.argv[1]
PY
then
    echo "installing the idzip Python package into .venv (pip install -e ./python)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ./python
fi
