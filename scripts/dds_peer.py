"""Independent DDS peer for the interop tests: Eclipse Cyclone DDS (PyPI `cyclonedds`), with the
unitree_hg and ROS 2 types declared here from their IDL / .msg definitions.

  dds_peer.py joint-poke --domain D --seconds S --targets JSON --kp JSON --kd JSON
      subscribes rt/joint_states (sensor_msgs/JointState) and rt/g1d/state (our Body-Pos
      message), publishes g1_diffusion/JointTargets on rt/joint_targets at 50 Hz (reliable)
      with the given targets and gains, and prints counts and the last joint positions.

  dds_peer.py hg-echo --domain D --seconds S
      subscribes rt/lowstate (unitree_hg LowState, best effort), checks each sample's CRC with
      its own bit-serial CRC, and answers every valid one with a LowCmd on rt/lowcmd (reliable)
      whose motor 0 target is the received motor 0 position + 0.5 and whose CRC it computes
      itself; prints one JSON line with counts at the end.

  dds_peer.py cmd-vel --domain D --seconds S --after A --twist "[vx, vy, wz]"
      publishes geometry_msgs/Twist on rt/cmd_vel (the ROS 2 topic /cmd_vel) at 20 Hz from A
      seconds after it starts until S seconds (a joystick held from then on); prints one JSON
      line with the count at the end.
"""
import argparse
import json
import sys
import time
from dataclasses import dataclass, field

from cyclonedds.core import Qos, Policy
from cyclonedds.util import duration
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, float64, int16, int32, sequence, uint8, uint32
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from hg_reference import crc_of_image, pack_low_cmd, pack_low_state


@dataclass
class MotorCmd_(IdlStruct, typename="unitree_hg::msg::dds_::MotorCmd_"):
    mode: uint8 = 0
    q: float32 = 0.0
    dq: float32 = 0.0
    tau: float32 = 0.0
    kp: float32 = 0.0
    kd: float32 = 0.0
    reserve: uint32 = 0


@dataclass
class LowCmd_(IdlStruct, typename="unitree_hg::msg::dds_::LowCmd_"):
    mode_pr: uint8 = 0
    mode_machine: uint8 = 0
    motor_cmd: array[MotorCmd_, 35] = field(default_factory=lambda: [MotorCmd_() for _ in range(35)])
    reserve: array[uint32, 4] = field(default_factory=lambda: [0] * 4)
    crc: uint32 = 0


@dataclass
class IMUState_(IdlStruct, typename="unitree_hg::msg::dds_::IMUState_"):
    quaternion: array[float32, 4]
    gyroscope: array[float32, 3]
    accelerometer: array[float32, 3]
    rpy: array[float32, 3]
    temperature: int16


@dataclass
class MotorState_(IdlStruct, typename="unitree_hg::msg::dds_::MotorState_"):
    mode: uint8
    q: float32
    dq: float32
    ddq: float32
    tau_est: float32
    temperature: array[int16, 2]
    vol: float32
    sensor: array[uint32, 2]
    motorstate: uint32
    reserve: array[uint32, 4]


@dataclass
class LowState_(IdlStruct, typename="unitree_hg::msg::dds_::LowState_"):
    version: array[uint32, 2]
    mode_pr: uint8
    mode_machine: uint8
    tick: uint32
    imu_state: IMUState_
    motor_state: array[MotorState_, 35]
    wireless_remote: array[uint8, 40]
    reserve: array[uint32, 4]
    crc: uint32


@dataclass
class Time_(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class Log_(IdlStruct, typename="rcl_interfaces::msg::dds_::Log_"):
    stamp: Time_
    level: uint8
    name: str
    msg: str
    file: str
    function: str
    line: uint32


@dataclass
class Header_(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time_ = field(default_factory=Time_)
    frame_id: str = ""


@dataclass
class JointState_(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    header: Header_
    name: sequence[str]
    position: sequence[float64]
    velocity: sequence[float64]
    effort: sequence[float64]


@dataclass
class Point_(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Quaternion_(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64
    y: float64
    z: float64
    w: float64


@dataclass
class Vector3_(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Pose_(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point_
    orientation: Quaternion_


@dataclass
class Twist_(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3_
    angular: Vector3_


@dataclass
class BodyPosState_(IdlStruct, typename="g1_diffusion::msg::dds_::BodyPosState_"):
    header: Header_
    layout_version: uint32
    state: sequence[float32]
    root_pose: Pose_
    root_twist: Twist_


@dataclass
class JointTargets_(IdlStruct, typename="g1_diffusion::msg::dds_::JointTargets_"):
    header: Header_
    policy_id: str
    action: sequence[float32]
    q_target: sequence[float64]
    kp: sequence[float32]
    kd: sequence[float32]


def joint_poke(a):
    dp = DomainParticipant(a.domain)
    best_effort = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    reliable = Qos(Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
                   Policy.History.KeepLast(10))
    joints = DataReader(dp, Topic(dp, "rt/joint_states", JointState_), qos=best_effort)
    states = DataReader(dp, Topic(dp, "rt/g1d/state", BodyPosState_), qos=best_effort)
    writer = DataWriter(dp, Topic(dp, "rt/joint_targets", JointTargets_), qos=reliable)
    q = json.loads(a.targets)
    kp = json.loads(a.kp)
    kd = json.loads(a.kd)
    out = {"joint_states": 0, "body_pos": 0, "last_position": None, "names": None,
           "layout_version": None, "state_len": None, "published": 0}
    t_end = time.time() + a.seconds
    next_pub = time.time()
    while time.time() < t_end:
        now = time.time()
        if now >= next_pub:
            next_pub += 0.02
            writer.write(JointTargets_(header=Header_(Time_(int(now), 0), "pelvis"), policy_id="cyclonedds-peer",
                                       action=[], q_target=q, kp=kp, kd=kd))
            out["published"] += 1
        for m in joints.take(N=100):
            out["joint_states"] += 1
            out["last_position"] = list(m.position)
            out["names"] = list(m.name)
        for m in states.take(N=100):
            out["body_pos"] += 1
            out["layout_version"] = m.layout_version
            out["state_len"] = len(m.state)
        time.sleep(0.002)
    print(json.dumps(out), flush=True)


def low_state_crc(s):
    """CRC of a LowState as the robot computes it (layout and CRC from hg_reference.py)."""
    i, ms = s.imu_state, s.motor_state
    return crc_of_image(pack_low_state({
        "version": s.version, "mode_pr": s.mode_pr, "mode_machine": s.mode_machine, "tick": s.tick,
        "imu_state": {"quaternion": i.quaternion, "gyroscope": i.gyroscope,
                      "accelerometer": i.accelerometer, "rpy": i.rpy, "temperature": i.temperature},
        "motor_state": [{"mode": m.mode, "q": m.q, "dq": m.dq, "ddq": m.ddq, "tau_est": m.tau_est,
                         "temperature": m.temperature, "vol": m.vol, "sensor": m.sensor,
                         "motorstate": m.motorstate, "reserve": m.reserve} for m in ms],
        "wireless_remote": s.wireless_remote, "reserve": s.reserve, "crc": 0}))


def low_cmd_crc(c):
    """CRC of a LowCmd (layout and CRC from hg_reference.py)."""
    return crc_of_image(pack_low_cmd({
        "mode_pr": c.mode_pr, "mode_machine": c.mode_machine,
        "motor_cmd": [{"mode": m.mode, "q": m.q, "dq": m.dq, "tau": m.tau, "kp": m.kp, "kd": m.kd,
                       "reserve": m.reserve} for m in c.motor_cmd],
        "reserve": c.reserve, "crc": 0}))


def hg_echo(a):
    dp = DomainParticipant(a.domain)
    best_effort = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    reliable = Qos(Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)), Policy.History.KeepLast(10))
    reader = DataReader(dp, Topic(dp, "rt/lowstate", LowState_), qos=best_effort)
    writer = DataWriter(dp, Topic(dp, "rt/lowcmd", LowCmd_), qos=reliable)
    counts = {"received": 0, "crc_ok": 0, "crc_bad": 0, "answered": 0, "last_tick": None}
    t_end = time.time() + a.seconds
    while time.time() < t_end:
        for s in reader.take(N=100):
            counts["received"] += 1
            if low_state_crc(s) != s.crc:
                counts["crc_bad"] += 1
                continue
            counts["crc_ok"] += 1
            counts["last_tick"] = s.tick
            c = LowCmd_(mode_machine=s.mode_machine)
            c.motor_cmd[0] = MotorCmd_(mode=1, q=s.motor_state[0].q + 0.5, kp=40.0, kd=1.0)
            c.crc = low_cmd_crc(c)
            writer.write(c)
            counts["answered"] += 1
        time.sleep(0.002)
    print(json.dumps(counts), flush=True)


def cmd_vel(a):
    dp = DomainParticipant(a.domain)
    w = DataWriter(dp, Topic(dp, "rt/cmd_vel", Twist_))
    try:
        vx, vy, wz = (float(v) for v in json.loads(a.twist))
    except (ValueError, TypeError) as e:
        sys.exit(f"--twist must be a JSON list of three numbers [vx, vy, wz], got {a.twist!r}: {e}")
    msg = Twist_(Vector3_(vx, vy, 0.0), Vector3_(0.0, 0.0, wz))
    t0 = time.time()
    sent = 0
    while time.time() - t0 < a.seconds:
        if time.time() - t0 >= a.after:
            w.write(msg)
            sent += 1
        time.sleep(0.05)
    print(json.dumps({"sent": sent}), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["hg-echo", "joint-poke", "cmd-vel"])
    p.add_argument("--domain", type=int, default=0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--targets", default="[]")
    p.add_argument("--kp", default="[]")
    p.add_argument("--kd", default="[]")
    p.add_argument("--after", type=float, default=0.0)
    p.add_argument("--twist", default="[0, 0, 0]")
    a = p.parse_args()
    if a.mode == "hg-echo":
        hg_echo(a)
    elif a.mode == "cmd-vel":
        cmd_vel(a)
    else:
        joint_poke(a)
