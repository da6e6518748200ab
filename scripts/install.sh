#!/usr/bin/env bash
# Installs g1_diffusion in the ament layout `ros2 launch` expects:
#   <prefix>/share/ament_index/resource_index/packages/g1_diffusion   (empty marker)
#   <prefix>/share/g1_diffusion/{package.xml,launch,config,rviz,msg,urdf,meshes,assets}
#   <prefix>/lib/g1_diffusion/<node executables>
#   <prefix>/.deps/{lib,ort}/   the MuJoCo and ONNX Runtime libraries the executables load
#   <prefix>/setup.sh           puts the prefix on AMENT_PREFIX_PATH
# Usage: scripts/install.sh [--prefix DIR] [--bin-dir DIR]
#   --bin-dir: take already-built executables from DIR instead of `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=install
BIN_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    *) echo "unknown option $1 (--prefix DIR, --bin-dir DIR)" >&2; exit 2 ;;
  esac
done
EXES="g1_sim g1_bridge g1_estimator g1_expert g1_planner g1_obstacles g1_teleop g1_teleop_key g1_recorder"
if [ -z "$BIN_DIR" ]; then
  cargo build --release -p g1-nodes --bins
  BIN_DIR=target/release
fi
for e in $EXES; do
  [ -x "$BIN_DIR/$e" ] || { echo "missing executable $BIN_DIR/$e" >&2; exit 1; }
done
[ -e .deps/lib/libmujoco.so.3.17.0 ] || { echo "run make setup first (.deps missing)" >&2; exit 1; }
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
SHARE="$PREFIX/share/g1_diffusion"
rm -rf "$SHARE" "$PREFIX/lib/g1_diffusion"
mkdir -p "$PREFIX/share/ament_index/resource_index/packages" "$SHARE" "$PREFIX/lib/g1_diffusion" \
         "$PREFIX/.deps/lib" "$PREFIX/.deps/ort"
: > "$PREFIX/share/ament_index/resource_index/packages/g1_diffusion"
cp package.xml "$SHARE/"
cp -r launch config rviz msg "$SHARE/"
cp -r assets "$SHARE/assets"
# RViz's RobotModel: the URDF with package:// mesh URIs, and the meshes.
mkdir -p "$SHARE/urdf" "$SHARE/meshes"
sed 's#filename="meshes/#filename="package://g1_diffusion/meshes/#' \
  assets/g1/urdf/g1_29dof_rev_1_0.urdf > "$SHARE/urdf/g1.urdf"
cp assets/g1/urdf/LICENSE "$SHARE/urdf/LICENSE"
cp assets/g1/mjcf/assets/*.STL "$SHARE/meshes/"
cp assets/g1/mjcf/LICENSE "$SHARE/meshes/LICENSE"
for e in $EXES; do cp "$BIN_DIR/$e" "$PREFIX/lib/g1_diffusion/"; done
cp -L .deps/lib/libmujoco.so.3.17.0 "$PREFIX/.deps/lib/"
cp -L .deps/ort/libonnxruntime.so.1.31.1 "$PREFIX/.deps/ort/"
cat > "$PREFIX/setup.sh" <<SETUP
# source this file: makes \`ros2 launch g1_diffusion …\` find the package
export AMENT_PREFIX_PATH="$PREFIX\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}"
SETUP
echo "installed g1_diffusion into $PREFIX (source $PREFIX/setup.sh)"
