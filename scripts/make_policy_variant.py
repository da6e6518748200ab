"""Builds a variant of a Unitree-format policy directory (deploy.yaml + policy.onnx) that must
behave exactly like the original: the policy's joints in another order and/or longer
observation histories, with an ONNX wrapper that maps the new observation layout back onto the
original network and its actions forward again. Used by the tests to show that such a policy is
only a different deploy.yaml to g1d (no code change).

Layout rules followed (those of deploy.yaml): `joint_ids_map[i]` is the SDK motor of policy joint
`i`; `stiffness`/`damping` are in SDK order; `default_joint_pos`, action `scale`/`offset` and every
joint-sized observation term are in policy order; the observation is term-major, each term's
history from oldest to newest frame."""
import argparse
import os
import shutil

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

DIMS = {
    "base_ang_vel": 3, "projected_gravity": 3, "velocity_commands": 3, "joint_pos_rel": 29,
    "joint_pos": 29, "joint_vel_rel": 29, "joint_vel": 29, "last_action": 29, "actions": 29,
    "motion_command": 58, "command": 58, "motion_anchor_ori_b": 6, "motion_anchor_pos_b": 3,
    "base_lin_vel": 3,
}
JOINT_SIZED = {"joint_pos_rel", "joint_pos", "joint_vel_rel", "joint_vel", "last_action", "actions"}
TWO_JOINT_BLOCKS = {"motion_command", "command"}  # joint positions then joint velocities

p = argparse.ArgumentParser()
p.add_argument("--policy", required=True)
p.add_argument("--out", required=True)
p.add_argument("--permute-seed", type=int, help="reorder the policy's joints randomly")
p.add_argument("--history", action="append", default=[], metavar="TERM=N",
               help="declare TERM with a history of N frames (at least its current length)")
a = p.parse_args()

cfg = yaml.safe_load(open(os.path.join(a.policy, "deploy.yaml")))
n = len(cfg["joint_ids_map"])
perm = np.arange(n)
if a.permute_seed is not None:
    perm = np.random.default_rng(a.permute_seed).permutation(n)
# New policy joint i is old policy joint perm[i]; old joint j sits at new index inv[j].
inv = np.argsort(perm)

new = dict(cfg)
new["joint_ids_map"] = [int(cfg["joint_ids_map"][perm[i]]) for i in range(n)]
new["default_joint_pos"] = [cfg["default_joint_pos"][perm[i]] for i in range(n)]
new["actions"] = {}
for name, act in cfg["actions"].items():
    act = dict(act)
    for key in ("scale", "offset"):
        if isinstance(act.get(key), list):
            act[key] = [act[key][perm[i]] for i in range(n)]
    new["actions"][name] = act

hist = {}
for h in a.history:
    term, k = h.split("=")
    hist[term] = int(k)

gather = []  # for every entry of the original observation, its index in the new one
new["observations"] = {}
new_start = 0
for term, t in cfg["observations"].items():
    d = DIMS[term]
    h_old = int(t.get("history_length", 1) or 1)
    h_new = hist.get(term, h_old)
    assert h_new >= h_old, f"{term}: history {h_new} shorter than {h_old}"
    within = np.arange(d)
    if term in JOINT_SIZED:
        within = inv.copy()
    elif term in TWO_JOINT_BLOCKS:
        within = np.concatenate([inv, n + inv])
    # The original reads its newest h_old frames: the last h_old of the new term's frames.
    for f in range(h_old):
        frame = h_new - h_old + f
        gather.extend(new_start + frame * d + within)
    t = dict(t)
    t["history_length"] = h_new
    if isinstance(t.get("scale"), list):
        s = t["scale"]
        if term in JOINT_SIZED:
            s = [s[perm[i]] for i in range(n)]
        elif term in TWO_JOINT_BLOCKS:
            s = [s[perm[i]] for i in range(n)] + [s[n + perm[i]] for i in range(n)]
        t["scale"] = s
    new["observations"][term] = t
    new_start += d * h_new

inner = onnx.load(os.path.join(a.policy, "policy.onnx"), load_external_data=True)
g = inner.graph
old_in, old_out = g.input[0].name, g.output[0].name
assert old_out == "actions", old_out
for node in g.node:
    node.input[:] = ["obs_inner" if x == old_in else x for x in node.input]
    node.output[:] = ["actions_inner" if x == old_out else x for x in node.output]
inits = [numpy_helper.from_array(np.array(gather, np.int64), "obs_gather"),
         numpy_helper.from_array(perm.astype(np.int64), "action_gather")]
nodes = [helper.make_node("Gather", ["obs", "obs_gather"], ["obs_inner"], axis=1)]
nodes += list(g.node)
nodes.append(helper.make_node("Gather", ["actions_inner", "action_gather"], ["actions"], axis=1))
graph = helper.make_graph(
    nodes, "policy_variant",
    [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, new_start])],
    [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, n])],
    initializer=inits + list(g.initializer))
model = helper.make_model(graph, opset_imports=inner.opset_import, ir_version=inner.ir_version)
onnx.checker.check_model(model, full_check=True)
os.makedirs(a.out, exist_ok=True)
onnx.save(model, os.path.join(a.out, "policy.onnx"))
with open(os.path.join(a.out, "deploy.yaml"), "w") as f:
    yaml.safe_dump(new, f, sort_keys=False)
# The reference clip of a tracking policy goes along, its sidecar pointing at it.
side = os.path.join(a.policy, "motion.yaml")
if os.path.exists(side):
    m = yaml.safe_load(open(side))
    src = os.path.normpath(os.path.join(a.policy, m["file"]))
    shutil.copy(src, os.path.join(a.out, os.path.basename(src)))
    m["file"] = os.path.basename(src)
    with open(os.path.join(a.out, "motion.yaml"), "w") as f:
        yaml.safe_dump(m, f, sort_keys=False)
print(a.out)
