#!/usr/bin/env python3
"""Independent check of an exported g1d denoiser with the Python `onnx` and `onnxruntime`
packages: `onnx.checker` (full check, with shape inference) and a run on the inputs that
`g1d model check --dump DIR` wrote, compared with the Rust ONNX Runtime and libtorch outputs.

usage: check_onnx_python.py DUMP_DIR [--tolerance 1e-4]
Prints one JSON object; exits 1 if the checker fails or any difference exceeds the tolerance.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def main() -> int:
    d = Path(sys.argv[1])
    tol = float(sys.argv[sys.argv.index("--tolerance") + 1]) if "--tolerance" in sys.argv else 1e-4
    shp = json.loads((d / "shapes.json").read_text())
    b, t, sd, ad = shp["batch"], shp["steps"], shp["state_dim"], shp["action_dim"]
    model = onnx.load(shp["onnx"])
    onnx.checker.check_model(model, full_check=True)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))

    def f32(name, shape):
        return np.fromfile(d / name, dtype="<f4").reshape(shape)

    feeds = {
        "states": f32("states.f32", (b, t, sd)),
        "actions": f32("actions.f32", (b, t, ad)),
        "k_states": np.fromfile(d / "k_states.i64", dtype="<i8").reshape(b, t),
        "k_actions": np.fromfile(d / "k_actions.i64", dtype="<i8").reshape(b, t),
    }
    sess = ort.InferenceSession(shp["onnx"], providers=["CPUExecutionProvider"])
    ps, pa = sess.run(["states_x0", "actions_x0"], feeds)
    out = {"checker": "ok", "opset": opset, "ir_version": model.ir_version}
    worst = 0.0
    for who in ("ort", "torch"):
        rs = f32(f"{who}_states_x0.f32", (b, t, sd))
        ra = f32(f"{who}_actions_x0.f32", (b, t, ad))
        diff = float(max(np.abs(ps - rs).max(), np.abs(pa - ra).max()))
        out[f"python_vs_rust_{who}_max_abs_diff"] = diff
        worst = max(worst, diff)
    out["output_abs_max"] = float(max(np.abs(ps).max(), np.abs(pa).max()))
    out["ok"] = worst <= tol and opset >= 17
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
