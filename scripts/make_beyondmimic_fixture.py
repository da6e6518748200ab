"""Builds a BeyondMimic-style ONNX (inputs `obs` [1,160] + `time_step` [1,1]; outputs `actions`
and the reference `joint_pos`, `joint_vel`, `body_pos_w`, `body_quat_w`, `body_lin_vel_w`,
`body_ang_vel_w`; CSV `metadata_props`) from the shipped mjlab dance policy, so the repository can
test its BeyondMimic loader without a file from outside.

The wrapper gathers the 154 entries the shipped network expects out of BeyondMimic's 160
(dropping `motion_anchor_pos_b` and `base_lin_vel`), and bakes in the reference clip resampled
to 50 Hz with body poses from MuJoCo's own kinematics (an independent FK)."""
import argparse

import mujoco
import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

p = argparse.ArgumentParser()
p.add_argument("--assets", default="assets")
p.add_argument("--out", required=True)
p.add_argument("--seconds", type=float, default=20.0, help="length of the baked reference")
a = p.parse_args()

pol = f"{a.assets}/policies/mimic_dance1_subject2_mjlab"
cfg = yaml.safe_load(open(f"{pol}/deploy.yaml"))
inner = onnx.load(f"{pol}/policy.onnx", load_external_data=True)

# Reference: 30 fps CSV -> 50 Hz (lerp positions/joints, slerp rotation).
rows = np.loadtxt(f"{a.assets}/motions/lafan1_g1/dance1_subject2.csv", delimiter=",")
fps, dt = 30.0, 0.02
n = int(a.seconds / dt) + 1
u = np.arange(n) * dt * fps
i0 = np.minimum(np.floor(u).astype(int), len(rows) - 1)
i1 = np.minimum(i0 + 1, len(rows) - 1)
w = (u - i0)[:, None]
pos = rows[i0, :3] * (1 - w) + rows[i1, :3] * w
q = rows[i0, 7:] * (1 - w) + rows[i1, 7:] * w
def slerp(qa, qb, t):
    d = np.sum(qa * qb, axis=1, keepdims=True)
    qb = np.where(d < 0, -qb, qb); d = np.abs(d)
    th = np.arccos(np.clip(d, -1, 1)); s = np.sin(th)
    small = s < 1e-9
    wa = np.where(small, 1 - t, np.sin((1 - t) * th) / np.where(small, 1, s))
    wb = np.where(small, t, np.sin(t * th) / np.where(small, 1, s))
    r = wa * qa + wb * qb
    return r / np.linalg.norm(r, axis=1, keepdims=True)
xyzw = slerp(rows[i0, 3:7], rows[i1, 3:7], w)
quat = np.concatenate([xyzw[:, 3:4], xyzw[:, :3]], axis=1)  # wxyz
dq = np.gradient(q, dt, axis=0)

m = mujoco.MjModel.from_xml_path(f"{a.assets}/g1/mjcf/g1_mjx.xml")
d = mujoco.MjData(m)
body_names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(1, m.nbody)]
bp = np.zeros((n, len(body_names), 3)); bq = np.zeros((n, len(body_names), 4))
for k in range(n):
    d.qpos[:3] = pos[k]; d.qpos[3:7] = quat[k]; d.qpos[7:] = q[k]
    mujoco.mj_kinematics(m, d)
    bp[k] = d.xpos[1:]; bq[k] = d.xquat[1:]
bv = np.gradient(bp, dt, axis=0); bw = np.zeros_like(bv)

obs_names = ["command", "motion_anchor_pos_b", "motion_anchor_ori_b", "base_lin_vel", "base_ang_vel",
             "joint_pos", "joint_vel", "actions"]
dims = [58, 3, 6, 3, 3, 29, 29, 29]
starts = np.cumsum([0] + dims)
keep = [n_ for n_ in obs_names if n_ not in ("motion_anchor_pos_b", "base_lin_vel")]
idx = np.concatenate([np.arange(starts[obs_names.index(k)], starts[obs_names.index(k)] + dims[obs_names.index(k)]) for k in keep])
assert len(idx) == 154

g = inner.graph
inner_input = g.input[0].name
for node in g.node:
    node.input[:] = ["obs_inner" if x == inner_input else x for x in node.input]
tables = {"joint_pos": q, "joint_vel": dq, "body_pos_w": bp, "body_quat_w": bq, "body_lin_vel_w": bv, "body_ang_vel_w": bw}
inits = [numpy_helper.from_array(idx.astype(np.int64), "keep_idx")]
nodes = [helper.make_node("Gather", ["obs", "keep_idx"], ["obs_inner"], axis=1),
         helper.make_node("Cast", ["time_step"], ["ts_i"], to=TensorProto.INT64),
         helper.make_node("Reshape", ["ts_i", "shape1"], ["ts_flat"]),
         helper.make_node("Clip", ["ts_flat", "zero", "last"], ["ts_idx"])]
inits += [numpy_helper.from_array(np.array([1], np.int64), "shape1"),
          numpy_helper.from_array(np.array(0, np.int64), "zero"),
          numpy_helper.from_array(np.array(n - 1, np.int64), "last")]
outs = [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 29])]
for name, arr in tables.items():
    inits.append(numpy_helper.from_array(arr.astype(np.float32), f"{name}_table"))
    nodes.append(helper.make_node("Gather", [f"{name}_table", "ts_idx"], [name], axis=0))
    outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1] + list(arr.shape[1:])))
graph = helper.make_graph(
    nodes + list(g.node), "beyondmimic_fixture",
    [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 160]),
     helper.make_tensor_value_info("time_step", TensorProto.FLOAT, [1, 1])],
    outs, initializer=inits + list(g.initializer))
model = helper.make_model(graph, opset_imports=inner.opset_import, ir_version=inner.ir_version)
csv = lambda v: ",".join(str(x) for x in v)
meta = {
    "joint_names": csv(f"{mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j)}" for j in range(1, m.njnt)),
    "joint_stiffness": csv(cfg["stiffness"]), "joint_damping": csv(cfg["damping"]),
    "default_joint_pos": csv(cfg["default_joint_pos"]),
    "action_scale": csv(cfg["actions"]["JointPositionAction"]["scale"]),
    "command_names": "motion", "observation_names": csv(obs_names),
    "observation_history_lengths": csv([1] * len(obs_names)),
    "anchor_body_name": "torso_link", "body_names": csv(body_names), "num_time_steps": str(n),
}
for k, v in meta.items():
    e = model.metadata_props.add(); e.key = k; e.value = v
onnx.checker.check_model(model, full_check=True)
onnx.save(model, a.out)
print(a.out)
