"""A simulator outside the suite, speaking the generic ROS 2 robot interface that Isaac Sim's
and Gazebo's bridges offer (what `g1_sim_adapter` connects to), over Cyclone DDS (PyPI
`cyclonedds`), with the G1 assets the project ships:

  engine_peer.py --engine mujoco|pybullet --domain D --seconds S [--ns /engine]
                 [--gantry-s 5] [--out FILE]

  publishes  <ns>/joint_states (sensor_msgs/JointState: the 29 joints by name; position,
             velocity, effort), <ns>/imu (sensor_msgs/Imu at the pelvis IMU), <ns>/odom
             (nav_msgs/Odometry, ground truth), /clock (rosgraph_msgs/Clock)
  subscribes <ns>/joint_command (sensor_msgs/JointState: `effort` torques by joint name)

and steps in lockstep: after each state it waits (up to 0.5 s of wall time) for the torques
answering it (stamped with the state's time), applies them for one 2 ms step, and publishes
the next state; at every 20 ms boundary it also waits (up to 1 s) for the controller's
joint_targets answering the previous period (`--free-running`: not) — so the simulation runs at
the pace of the chain, and never faster than real time (`--max-speed`). The pelvis hangs from a
gantry (held in place, upright) until --gantry-s simulated seconds after the first command.

Engines: `mujoco` (MuJoCo's own Python binding on the shipped MJCF) and `pybullet` (Bullet, on
the shipped URDF and meshes; no armature there: each 2 ms step is --substeps Bullet steps with
the commanded torque held). Writes a JSON summary (fell, time, final pose, pelvis height).
"""
import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float64, sequence
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dds_peer import (Header_, JointState_, JointTargets_, Point_, Pose_, Quaternion_, Time_,  # noqa: E402
                      Twist_, Vector3_)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The G1's 29 joints in SDK order (the order of the suite's joint table).
JOINTS = [
    "left_hip_pitch", "left_hip_roll", "left_hip_yaw", "left_knee", "left_ankle_pitch",
    "left_ankle_roll", "right_hip_pitch", "right_hip_roll", "right_hip_yaw", "right_knee",
    "right_ankle_pitch", "right_ankle_roll", "waist_yaw", "waist_roll", "waist_pitch",
    "left_shoulder_pitch", "left_shoulder_roll", "left_shoulder_yaw", "left_elbow",
    "left_wrist_roll", "left_wrist_pitch", "left_wrist_yaw", "right_shoulder_pitch",
    "right_shoulder_roll", "right_shoulder_yaw", "right_elbow", "right_wrist_roll",
    "right_wrist_pitch", "right_wrist_yaw",
]
NAMES = [j + "_joint" for j in JOINTS]
DT = 0.002


@dataclass
class Imu_(IdlStruct, typename="sensor_msgs::msg::dds_::Imu_"):
    header: Header_
    orientation: Quaternion_
    orientation_covariance: array[float64, 9]
    angular_velocity: Vector3_
    angular_velocity_covariance: array[float64, 9]
    linear_acceleration: Vector3_
    linear_acceleration_covariance: array[float64, 9]


@dataclass
class PoseWithCovariance_(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose_
    covariance: array[float64, 36]


@dataclass
class TwistWithCovariance_(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    twist: Twist_
    covariance: array[float64, 36]


@dataclass
class Odometry_(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header_
    child_frame_id: str
    pose: PoseWithCovariance_
    twist: TwistWithCovariance_


@dataclass
class Clock_(IdlStruct, typename="rosgraph_msgs::msg::dds_::Clock_"):
    clock: Time_


def quat_rotate_inv(q, v):
    """v expressed in the frame of unit quaternion q = (w, x, y, z)."""
    w, x, y, z = q
    r = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
    return r.T @ np.asarray(v)


class MujocoEngine:
    """MuJoCo's Python binding on the shipped MJCF (its position actuators off: torques are
    applied as joint forces)."""

    def __init__(self, scene):
        import mujoco
        self.mj = mujoco
        self.m = mujoco.MjModel.from_xml_path(os.path.join(ROOT, "assets/g1/mjcf", scene))
        self.m.opt.timestep = DT
        self.m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_ACTUATION
        self.d = mujoco.MjData(self.m)
        key = max(mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_KEY, k) for k in ("stand", "home"))
        if key >= 0:
            mujoco.mj_resetDataKeyframe(self.m, self.d, key)
        self.qadr = [self.m.jnt_qposadr[mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_JOINT, n)] for n in NAMES]
        self.dadr = [self.m.jnt_dofadr[mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_JOINT, n)] for n in NAMES]
        self.site = mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_SITE, "imu_in_pelvis")
        sensor = lambda *names: self.m.sensor_adr[next(  # noqa: E731 (the two files name them apart)
            i for i in (mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_SENSOR, n) for n in names) if i >= 0)]
        self.gyro = sensor("imu-pelvis-angular-velocity", "gyro_pelvis")
        self.acc = sensor("imu-pelvis-linear-acceleration", "accelerometer_pelvis")
        self.home = self.d.qpos[:7].copy()
        self.tau = np.zeros(len(NAMES))
        mujoco.mj_forward(self.m, self.d)

    def step(self, tau, gantry):
        self.tau = tau
        self.d.qfrc_applied[:] = 0
        for i, a in enumerate(self.dadr):
            self.d.qfrc_applied[a] = tau[i]
        if gantry:
            self.d.qpos[:7] = self.home
            self.d.qvel[:6] = 0
        self.mj.mj_step(self.m, self.d)

    def push(self, dv):
        self.d.qvel[0] += dv[0]
        self.d.qvel[1] += dv[1]

    def state(self):
        q = [float(self.d.qpos[a]) for a in self.qadr]
        dq = [float(self.d.qvel[a]) for a in self.dadr]
        quat = np.zeros(4)
        self.mj.mju_mat2Quat(quat, self.d.site_xmat[self.site])
        gyro = self.d.sensordata[self.gyro:self.gyro + 3].copy()
        acc = self.d.sensordata[self.acc:self.acc + 3].copy()
        pos = self.d.qpos[:3].copy()
        root_q = self.d.qpos[3:7].copy()
        lin = self.d.qvel[:3].copy()
        ang_b = self.d.qvel[3:6].copy()
        return q, dq, list(self.tau), quat, gyro, acc, pos, root_q, lin, ang_b


class BulletEngine:
    """Bullet (PyBullet) on the shipped URDF and meshes."""

    def __init__(self, substeps, armature, friction):
        import pybullet as p
        import tempfile
        self.p = p
        self.substeps = substeps
        self.cid = p.connect(p.DIRECT)
        p.setGravity(0, 0, -9.81)
        p.setTimeStep(DT / substeps)
        p.setPhysicsEngineParameter(numSolverIterations=50)
        # The URDF names its meshes meshes/*.STL: give it that folder.
        self.tmp = tempfile.mkdtemp(prefix="g1_bullet_")
        os.symlink(os.path.join(ROOT, "assets/g1/mjcf/assets"), os.path.join(self.tmp, "meshes"))
        urdf = os.path.join(self.tmp, "g1.urdf")
        with open(os.path.join(ROOT, "assets/g1/urdf/g1_29dof_rev_1_0.urdf")) as f:
            open(urdf, "w").write(f.read())
        plane = p.createCollisionShape(p.GEOM_PLANE)
        p.createMultiBody(0, plane)
        self.robot = p.loadURDF(urdf, [0, 0, 0.80], flags=p.URDF_USE_INERTIA_FROM_FILE)
        # Links the URDF gives no inertial (sensor frames) would weigh Bullet's default 1 kg.
        for i in range(p.getNumJoints(self.robot)):
            if p.getDynamicsInfo(self.robot, i)[0] == 1.0 and p.getJointInfo(self.robot, i)[2] == p.JOINT_FIXED:
                p.changeDynamics(self.robot, i, mass=0.001, localInertiaDiagonal=[1e-6] * 3)
        by_name = {p.getJointInfo(self.robot, i)[1].decode(): i for i in range(p.getNumJoints(self.robot))}
        self.idx = [by_name[n] for n in NAMES]
        # Torque control: switch off Bullet's default velocity motors.
        p.setJointMotorControlArray(self.robot, self.idx, p.VELOCITY_CONTROL, forces=[0.0] * len(self.idx))
        for i in range(-1, p.getNumJoints(self.robot)):
            p.changeDynamics(self.robot, i, lateralFriction=friction, linearDamping=0, angularDamping=0)
        if armature:
            # Bullet has no rotor (armature) inertia: add each joint's, from the MJCF, to its
            # child link's inertia. `all-axes` adds it about all three principal axes (a link
            # then resists turning about the other two as well, which a rotor does not); `axis`
            # adds arm·(a·e_k)² to principal axis e_k, a the joint axis: exactly the rotor's
            # inertia when the joint axis is a principal axis (the diagonal Bullet keeps).
            arm = mjcf_armature()
            for n, i in zip(NAMES, self.idx):
                info = p.getDynamicsInfo(self.robot, i)
                diag, orn = info[2], info[4]
                if armature == "axis":
                    axis = p.getJointInfo(self.robot, i)[13]
                    rot = np.array(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
                    a_in = rot.T @ np.array(axis)
                    add = [arm[n] * float(c) ** 2 for c in a_in]
                else:
                    add = [arm[n]] * 3
                p.changeDynamics(self.robot, i, localInertiaDiagonal=[d + x for d, x in zip(diag, add)])
        # Bullet's base position is the pelvis' centre of mass (7.6 cm below the pelvis frame);
        # the pelvis frame and the IMU site (the MJCF's imu_in_pelvis) are offsets from it.
        self.com = np.array(p.getDynamicsInfo(self.robot, -1)[3])
        self.imu_site = np.array([0.04525, 0.0, -0.08339])
        self.home = ([0.0, 0.0, 0.79 + self.com[2]], [0, 0, 0, 1])
        p.resetBasePositionAndOrientation(self.robot, *self.home)
        self.tau = np.zeros(len(NAMES))
        self.prev_site_vel = None

    def step(self, tau, gantry):
        p = self.p
        self.tau = tau
        for _ in range(self.substeps):
            if gantry:
                p.resetBasePositionAndOrientation(self.robot, *self.home)
                p.resetBaseVelocity(self.robot, [0, 0, 0], [0, 0, 0])
            p.setJointMotorControlArray(self.robot, self.idx, p.TORQUE_CONTROL, forces=list(tau))
            p.stepSimulation()

    def push(self, dv):
        lin, ang = self.p.getBaseVelocity(self.robot)
        self.p.resetBaseVelocity(self.robot, [lin[0] + dv[0], lin[1] + dv[1], lin[2]], ang)

    def state(self):
        p = self.p
        js = p.getJointStates(self.robot, self.idx)
        q = [s[0] for s in js]
        dq = [s[1] for s in js]
        com_pos, orn = p.getBasePositionAndOrientation(self.robot)
        com_vel, ang = p.getBaseVelocity(self.robot)
        x, y, z, w = orn
        quat = np.array([w, x, y, z])
        rot = np.array(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        ang = np.array(ang)
        # The pelvis frame and the IMU site, from the centre of mass.
        pos = np.array(com_pos) - rot @ self.com
        lin = np.array(com_vel) + np.cross(ang, rot @ (-self.com))
        site_vel = np.array(com_vel) + np.cross(ang, rot @ (self.imu_site - self.com))
        prev = site_vel if self.prev_site_vel is None else self.prev_site_vel
        acc_w = (site_vel - prev) / DT + np.array([0, 0, 9.81])
        self.prev_site_vel = site_vel
        gyro = quat_rotate_inv(quat, ang)
        acc = quat_rotate_inv(quat, acc_w)
        return q, dq, list(self.tau), quat, gyro, acc, pos, quat, lin, gyro


def mjcf_armature():
    """Joint name → rotor armature (kg·m²) of the shipped MJCF (read through MuJoCo)."""
    import mujoco
    m = mujoco.MjModel.from_xml_path(os.path.join(ROOT, "assets/g1/mjcf/g1_mjx.xml"))
    return {n: float(m.dof_armature[m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n)]])
            for n in NAMES}


def stamp(t):
    ns = int(round(t * 1e9))
    return Time_(ns // 1000000000, ns % 1000000000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["mujoco", "pybullet"], default="mujoco")
    ap.add_argument("--domain", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0, help="simulated seconds")
    ap.add_argument("--wall-limit", type=float, default=300.0)
    ap.add_argument("--ns", default="/engine")
    ap.add_argument("--gantry-s", type=float, default=5.0)
    ap.add_argument("--substeps", type=int, default=10)
    ap.add_argument("--max-speed", type=float, default=1.0,
                    help="at most this many simulated seconds per wall second (0: no cap); the "
                         "lockstep waits for the adapter, not for a planner on the sim clock")
    ap.add_argument("--friction", type=float, default=1.0, help="pybullet: lateral friction")
    ap.add_argument("--cmd-vel", default="",
                    help="vx,vy,wz: publish it on /cmd_vel at 20 Hz from the release on (the "
                         "operator's joystick); the summary gets the velocity error")
    ap.add_argument("--push", default="",
                    help="T:VX,VY: at T simulated seconds add this planar velocity to the pelvis")
    ap.add_argument("--mjcf", default="scene.xml",
                    help="mujoco: the scene of assets/g1/mjcf (scene_mjx.xml is g1_sim's model)")
    ap.add_argument("--free-running", action="store_true",
                    help="do not wait, at every 20 ms boundary, for joint_targets stamped at or "
                         "after the previous boundary (by default the controller is in the "
                         "lockstep, as in g1_sim's)")
    ap.add_argument("--no-armature", action="store_true",
                    help="pybullet: leave the rotors' inertia out")
    ap.add_argument("--armature", choices=["all-axes", "axis"], default="all-axes",
                    help="pybullet: add each rotor's inertia about all three principal axes of "
                         "its link (default) or about the joint axis only")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    eng = MujocoEngine(a.mjcf) if a.engine == "mujoco" else BulletEngine(a.substeps, None if a.no_armature else a.armature, a.friction)

    dp = DomainParticipant(a.domain)
    rel = Qos(Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
              Policy.Durability.Volatile, Policy.History.KeepLast(10))
    be = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    ns = "rt" + a.ns.rstrip("/")
    w_js = DataWriter(dp, Topic(dp, f"{ns}/joint_states", JointState_), qos=rel)
    w_imu = DataWriter(dp, Topic(dp, f"{ns}/imu", Imu_), qos=rel)
    w_odom = DataWriter(dp, Topic(dp, f"{ns}/odom", Odometry_), qos=be)
    w_clock = DataWriter(dp, Topic(dp, "rt/clock", Clock_), qos=rel)
    r_cmd = DataReader(dp, Topic(dp, f"{ns}/joint_command", JointState_), qos=rel)
    cmd_vel = [float(x) for x in a.cmd_vel.split(",")] if a.cmd_vel else None
    w_cmd_vel = DataWriter(dp, Topic(dp, "rt/cmd_vel", Twist_), qos=rel) if cmd_vel else None
    push_t, push_v = None, None
    if a.push:
        pt, pv = a.push.split(":")
        push_t, push_v = float(pt), [float(x) for x in pv.split(",")]
    track = []  # (t, x, y) after the release, for the velocity error
    r_targets = None if a.free_running else DataReader(dp, Topic(dp, "rt/joint_targets", JointTargets_), qos=rel)
    newest_target = None
    order = None
    t = 0.0
    first_cmd_t = None
    out = {"engine": a.engine, "fell": False, "fall_time_s": None, "steps": 0, "commands": 0,
           "missed_commands": 0, "min_pelvis_z": None}
    tau = np.zeros(len(NAMES))
    silent = 0
    wall0 = time.time()
    while t < a.seconds and time.time() - wall0 < a.wall_limit:
        q, dq, eff, quat, gyro, acc, pos, root_q, lin, ang = eng.state()
        h = Header_(stamp(t), "pelvis")
        w_clock.write(Clock_(stamp(t)))
        w_imu.write(Imu_(h, Quaternion_(float(quat[1]), float(quat[2]), float(quat[3]), float(quat[0])),
                         [0.0] * 9, Vector3_(*map(float, gyro)), [0.0] * 9, Vector3_(*map(float, acc)), [0.0] * 9))
        w_js.write(JointState_(h, NAMES, q, dq, [float(e) for e in eff]))
        if out["steps"] % 10 == 0:
            w_odom.write(Odometry_(Header_(stamp(t), "odom"), "pelvis",
                                   PoseWithCovariance_(Pose_(Point_(*map(float, pos)),
                                                             Quaternion_(float(root_q[1]), float(root_q[2]), float(root_q[3]), float(root_q[0]))), [0.0] * 36),
                                   # REP-105: the twist in the child (pelvis) frame.
                                   TwistWithCovariance_(Twist_(Vector3_(*map(float, quat_rotate_inv(root_q, lin))), Vector3_(*map(float, ang))), [0.0] * 36)))
        # At a 20 ms boundary, the controller's targets for the previous period first.
        if r_targets is not None and out["steps"] % 10 == 0:
            deadline = time.time() + 1.0
            while time.time() < deadline:
                for m in r_targets.take(N=50):
                    if hasattr(m, "header"):
                        ts = m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
                        newest_target = ts if newest_target is None else max(newest_target, ts)
                if newest_target is None or newest_target >= t - 0.02 - 1e-6:
                    break
                time.sleep(0.0002)
            else:
                out["target_waits_timed_out"] = out.get("target_waits_timed_out", 0) + 1
        # Lockstep: the torques answering this state (or, after 0.5 s, the last ones).
        got = False
        deadline = time.time() + 0.5
        while time.time() < deadline and not got:
            for c in r_cmd.take(N=20):
                if not hasattr(c, "name"):
                    continue  # the writer went away (an invalid sample)
                if order is None:
                    order = [list(c.name).index(n) for n in NAMES]
                tau = np.array([c.effort[i] for i in order]) if len(c.effort) else tau
                out["commands"] += 1
                if first_cmd_t is None:
                    first_cmd_t = t
                if c.header.stamp.sec == h.stamp.sec and c.header.stamp.nanosec == h.stamp.nanosec:
                    got = True
            if not got:
                time.sleep(0.0002)
        if not got:
            out["missed_commands"] += 1
            silent += 1
            if first_cmd_t is not None and silent >= 4:
                out["stopped"] = "the chain stopped answering"
                break
        else:
            silent = 0
        gantry = first_cmd_t is None or t - first_cmd_t < a.gantry_s
        if w_cmd_vel is not None and not gantry and out["steps"] % 25 == 0:
            w_cmd_vel.write(Twist_(Vector3_(cmd_vel[0], cmd_vel[1], 0.0), Vector3_(0.0, 0.0, cmd_vel[2])))
        if push_t is not None and abs(t - push_t) < DT / 2:
            eng.push(push_v)
            out["pushed_at_s"] = round(t, 3)
        if not gantry and out["steps"] % 10 == 0:
            track.append((t, float(pos[0]), float(pos[1])))
        eng.step(tau, gantry)
        if a.max_speed > 0:
            ahead = (t + DT) / a.max_speed - (time.time() - wall0)
            if ahead > 0:
                time.sleep(ahead)
        out["steps"] += 1
        t = out["steps"] * DT
        z = float(pos[2])
        if not gantry:
            since = t - (first_cmd_t + a.gantry_s)
            # The pelvis height the G1 settles at on its own feet (engine contact geometry).
            if out.get("pelvis_z_0_5s") is None and since >= 0.5:
                out["pelvis_z_0_5s"] = round(z, 4)
            out["min_pelvis_z"] = z if out["min_pelvis_z"] is None else min(out["min_pelvis_z"], z)
            if z < 0.45 and not out["fell"]:
                out["fell"] = True
                out["fall_time_s"] = round(t, 3)
    q, dq, eff, quat, gyro, acc, pos, root_q, lin, ang = eng.state()
    w, x, y, z = root_q
    out.update({"time_s": round(t, 3), "final_xy": [float(pos[0]), float(pos[1])],
                "final_yaw": math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)),
                "wall_s": round(time.time() - wall0, 1), "gantry_released_s": None if first_cmd_t is None else round(first_cmd_t + a.gantry_s, 3)})
    if cmd_vel is not None and track:
        # Mean planar velocity from 2 s after the release to the end, against the command.
        t0 = track[0][0] + 2.0
        seg = [r for r in track if r[0] >= t0]
        if len(seg) > 1:
            dt = seg[-1][0] - seg[0][0]
            v = ((seg[-1][1] - seg[0][1]) / dt, (seg[-1][2] - seg[0][2]) / dt)
            out["mean_velocity"] = [round(v[0], 3), round(v[1], 3)]
            out["velocity_error_mps"] = round(math.hypot(v[0] - cmd_vel[0], v[1] - cmd_vel[1]), 3)
    text = json.dumps(out)
    if a.out:
        open(a.out, "w").write(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
