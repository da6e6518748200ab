#!/usr/bin/env bash
# Idempotent: installs the pinned native libraries (ONNX Runtime, MuJoCo, libtorch) and the
# Python test peers from PyPI wheels into .venv/ and links them under .deps/ (both git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
ORT_VERSION=1.31.1
MUJOCO_VERSION=3.17.0
# tch 0.24.0 is built against torch 2.11.0 (the version on the GPU machine too).
TORCH_VERSION=2.11.0

# OpenSSL headers for DDS Security (rustdds' `security` feature links the system libssl).
if ! pkg-config --exists openssl 2>/dev/null; then
  echo "[setup] installing libssl-dev and pkg-config (Debian) for DDS Security"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libssl-dev pkg-config
fi

# colcon and CMake (Debian's), for the package's `colcon build` (tested without ROS 2).
if ! command -v colcon >/dev/null 2>&1 || ! command -v cmake >/dev/null 2>&1; then
  echo "[setup] installing colcon and cmake (Debian) for colcon build"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # Only the colcon-build test needs them: without root or sudo, warn and go on.
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq colcon python3-colcon-ros \
      python3-colcon-cmake cmake; } \
    || echo "[setup] warning: could not install colcon/cmake; cli/tests/colcon_install.rs will fail"
fi

# The viewer's renderers (Mesa's software GL and Vulkan) and a virtual display for its window
# test. Offscreen pictures need only the first; without root or sudo, warn and go on.
if ! command -v xvfb-run >/dev/null 2>&1 || [ ! -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  echo "[setup] installing Mesa (software GL/Vulkan) and Xvfb (Debian) for the 3-D viewer"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libegl-mesa0 libgl1-mesa-dri \
      mesa-vulkan-drivers xvfb xauth; } \
    || echo "[setup] warning: could not install Mesa/Xvfb; the viewer's tests will fail"
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
STAMP=.venv/.g1d-setup-v3
if [ ! -f "$STAMP" ]; then
  echo "[setup] installing pinned wheels into .venv (onnxruntime==$ORT_VERSION, mujoco==$MUJOCO_VERSION)"
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "onnxruntime==$ORT_VERSION" "mujoco==$MUJOCO_VERSION" "onnx" "numpy" "pyyaml" \
    "rosbags==0.11.9" "mcap==1.6.0" "mcap-ros2-support==0.6.0" "zstandard"
  # libtorch for tch, CPU use only: the PyPI torch wheel without its CUDA dependencies, plus the
  # two small CUDA runtime wheels libtorch_cpu needs to load (≈540 MB; see NATIVE_DEPS.md).
  echo "[setup] installing torch==$TORCH_VERSION (libtorch for tch, CPU)"
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
    "torch==$TORCH_VERSION" "nvidia-cuda-runtime==13.0.96" "nvidia-cuda-cupti==13.0.85"
  touch "$STAMP"
fi
# The independent DDS peer of the interop tests (Eclipse Cyclone DDS, bundles its own libddsc).
if [ ! -f .venv/.g1d-setup-dds-v1 ]; then
  echo "[setup] installing cyclonedds==11.0.1 (DDS interop peer for tests)"
  .venv/bin/pip install --quiet --disable-pip-version-check "cyclonedds==11.0.1"
  touch .venv/.g1d-setup-dds-v1
fi
# The independent Zenoh peer and router of the rmw_zenoh test (Eclipse Zenoh, the same 1.10.2
# the suite's zenoh crate is).
if [ ! -f .venv/.g1d-setup-zenoh-v1 ]; then
  echo "[setup] installing eclipse-zenoh==1.10.2 (Zenoh interop peer for tests)"
  .venv/bin/pip install --quiet --disable-pip-version-check "eclipse-zenoh==1.10.2"
  touch .venv/.g1d-setup-zenoh-v1
fi
# A second physics engine for the simulator-adapter test (Bullet, ≈ 100 MB wheel).
if [ ! -f .venv/.g1d-setup-engine-v1 ]; then
  echo "[setup] installing pybullet==3.2.7 (second physics engine for tests)"
  .venv/bin/pip install --quiet --disable-pip-version-check "pybullet==3.2.7"
  touch .venv/.g1d-setup-engine-v1
fi
# An independent reader of the viewer's GIF clips.
if [ ! -f .venv/.g1d-setup-pillow-v1 ]; then
  echo "[setup] installing pillow==11.0.0 (GIF reader for tests)"
  .venv/bin/pip install --quiet --disable-pip-version-check "pillow==11.0.0"
  touch .venv/.g1d-setup-pillow-v1
fi
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p .deps/lib
# MuJoCo: the crate links against an unversioned libmujoco.so in an absolute directory.
ln -sfn "$SITE/mujoco/libmujoco.so.$MUJOCO_VERSION" .deps/lib/libmujoco.so
ln -sfn "$SITE/mujoco/libmujoco.so.$MUJOCO_VERSION" .deps/lib/libmujoco.so.$MUJOCO_VERSION
# ONNX Runtime: loaded at run time (ort load-dynamic); keep the library inside capi/ so its
# RUNPATH finds the provider libraries, and point at it through a directory link.
ln -sfn "$SITE/onnxruntime/capi" .deps/ort
# libtorch: tch's build (LIBTORCH in .cargo/config.toml) and the binaries' rpath use .deps/torch.
ln -sfn "$SITE/torch" .deps/torch
test -f ".deps/torch/lib/libtorch_cpu.so" || { echo "[setup] libtorch missing"; exit 1; }
test -f ".deps/ort/libonnxruntime.so.$ORT_VERSION" || { echo "[setup] onnxruntime library missing"; exit 1; }
test -f ".deps/lib/libmujoco.so" || { echo "[setup] libmujoco missing"; exit 1; }
echo "[setup] native libraries ready under $ROOT/.deps"
