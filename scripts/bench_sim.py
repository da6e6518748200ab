"""Python peer of `g1d bench sim`: the same G1 + velocity-policy loop with the PyPI `mujoco`
and `onnxruntime` packages, one thread. Prints one JSON object.

Run by `g1d bench sim`, which writes the exact scene MJCF it simulates and passes the gains."""
import argparse, json, time

import mujoco
import numpy as np
import onnxruntime as ort
import yaml

p = argparse.ArgumentParser()
p.add_argument("--xml", required=True)
p.add_argument("--policy", required=True)
p.add_argument("--seconds", type=float, default=20.0)
p.add_argument("--timestep", type=float, default=0.005)
p.add_argument("--decimation", type=int, default=4)
p.add_argument("--iterations", type=int, default=10)
p.add_argument("--ls-iterations", type=int, default=20)
a = p.parse_args()

cfg = yaml.safe_load(open(f"{a.policy}/deploy.yaml"))
m = mujoco.MjModel.from_xml_path(a.xml)
m.opt.timestep = a.timestep
m.opt.iterations = a.iterations
m.opt.ls_iterations = a.ls_iterations
m.opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
kp = np.array(cfg["stiffness"]); kd = np.array(cfg["damping"])
m.actuator_gainprm[:29, 0] = kp
m.actuator_biasprm[:29, 0] = 0.0
m.actuator_biasprm[:29, 1] = -kp
m.actuator_biasprm[:29, 2] = -kd
d = mujoco.MjData(m)
default = np.array(cfg["default_joint_pos"])
scale = np.array(cfg["actions"]["JointPositionAction"]["scale"])
offset = np.array(cfg["actions"]["JointPositionAction"]["offset"])
d.qpos[:3] = [0, 0, 0.8]; d.qpos[3:7] = [1, 0, 0, 0]; d.qpos[7:] = default
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1; opts.inter_op_num_threads = 1
sess = ort.InferenceSession(f"{a.policy}/policy.onnx", opts, providers=["CPUExecutionProvider"])
quat_adr = m.sensor_adr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR, "orientation_pelvis")]
gyro_adr = m.sensor_adr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SENSOR, "gyro_pelvis")]
cmd = np.array([0.5, 0.0, 0.0])
last = np.zeros(29)
mujoco.mj_forward(m, d)
steps = int(round(a.seconds / (a.timestep * a.decimation)))
t0 = time.perf_counter()
for _ in range(steps):
    q = d.sensordata[quat_adr:quat_adr + 4]
    gyro = d.sensordata[gyro_adr:gyro_adr + 3]
    rot = np.zeros(9); mujoco.mju_quat2Mat(rot, q)
    grav = rot.reshape(3, 3).T @ np.array([0.0, 0.0, -1.0])
    obs = np.concatenate([gyro, grav, cmd, d.qpos[7:] - default, d.qvel[6:], last]).astype(np.float32)[None]
    last = sess.run(["actions"], {"obs": obs})[0][0].astype(np.float64)
    d.ctrl[:29] = offset + scale * last
    for _ in range(a.decimation):
        mujoco.mj_step(m, d)
wall = time.perf_counter() - t0
sim_s = steps * a.timestep * a.decimation
print(json.dumps({"physics_steps_per_s": steps * a.decimation / wall, "realtime_factor": sim_s / wall,
                  "distance_m": float(np.hypot(d.qpos[0], d.qpos[1])), "wall_s": wall}))
