"""An independent Zenoh peer for the rmw_zenoh test: Eclipse Zenoh's Python binding (PyPI
`eclipse-zenoh`) as the Zenoh router the suite connects to, and as a ROS 2 application on it.

  zenoh_peer.py --listen tcp/127.0.0.1:PORT --domain D --seconds S [--cmd-vel VX,VY,WZ]

It subscribes the keys rmw_zenoh gives /joint_states (sensor_msgs/JointState), /lowstate
(unitree_hg/LowState) and /rosout (rcl_interfaces/Log) in domain D with any type hash, decodes the CDR payloads with its own
type declarations (Cyclone DDS' Python IDL, from scripts/dds_peer.py) and checks each
LowState's CRC; it reads the liveliness tokens (the ROS graph rmw_zenoh builds) and, once a
subscription to /cmd_vel is among them, publishes geometry_msgs/Twist there at 20 Hz under the
type hash that subscription announced, with rmw_zenoh's attachment. Prints one JSON line.
"""
import argparse
import json
import os
import struct
import sys
import time

import zenoh

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dds_peer import JointState_, Log_, LowState_, Twist_, Vector3_, low_state_crc  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--domain", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--cmd-vel", default="0.0,0.0,0.6")
    a = p.parse_args()
    cmd = [float(x) for x in a.cmd_vel.split(",")]

    c = zenoh.Config()
    c.insert_json5("mode", '"router"')
    c.insert_json5("listen/endpoints", json.dumps([a.listen]))
    c.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(c)
    d = a.domain
    out = {"joint_states": 0, "lowstate": 0, "lowstate_crc_ok": 0, "names": None,
           "keys": {}, "tokens": [], "cmd_vel_hash": None, "cmd_vel_published": 0,
           "decode_errors": [], "rosout": []}

    def on_joints(sample):
        try:
            m = JointState_.deserialize(bytes(sample.payload.to_bytes()))
            out["joint_states"] += 1
            out["names"] = list(m.name)
            out["keys"]["joint_states"] = str(sample.key_expr)
        except Exception as e:  # noqa: BLE001 (reported)
            out["decode_errors"].append(f"joint_states: {e}")

    def on_lowstate(sample):
        try:
            m = LowState_.deserialize(bytes(sample.payload.to_bytes()))
            out["lowstate"] += 1
            if low_state_crc(m) == m.crc:
                out["lowstate_crc_ok"] += 1
            out["keys"]["lowstate"] = str(sample.key_expr)
        except Exception as e:  # noqa: BLE001
            out["decode_errors"].append(f"lowstate: {e}")

    def on_rosout(sample):
        try:
            m = Log_.deserialize(bytes(sample.payload.to_bytes()))
            if len(out["rosout"]) < 100:
                out["rosout"].append({"name": m.name, "level": m.level, "msg": m.msg})
        except Exception as e:  # noqa: BLE001
            out["decode_errors"].append(f"rosout: {e}")

    subs = [
        session.declare_subscriber(f"{d}/rosout/rcl_interfaces::msg::dds_::Log_/*", on_rosout),
        session.declare_subscriber(f"{d}/joint_states/sensor_msgs::msg::dds_::JointState_/*", on_joints),
        session.declare_subscriber(f"{d}/lowstate/unitree_hg::msg::dds_::LowState_/*", on_lowstate),
    ]
    publisher = None
    seq = 0
    gid = os.urandom(16)
    t_end = time.time() + a.seconds
    next_pub = 0.0
    while time.time() < t_end:
        if publisher is None:
            # The graph: every entity's liveliness token.
            tokens = [str(r.ok.key_expr) for r in session.liveliness().get(f"@ros2_lv/{d}/**")
                      if r.ok is not None]
            out["tokens"] = tokens
            for t in tokens:
                parts = t.split("/")
                # @ros2_lv/D/zid/nid/eid/MS/enclave/ns/node/topic/type/hash/qos
                if len(parts) >= 13 and parts[5] == "MS" and parts[9] == "%cmd_vel":
                    out["cmd_vel_hash"] = parts[11]
                    publisher = session.declare_publisher(
                        f"{d}/cmd_vel/geometry_msgs::msg::dds_::Twist_/{parts[11]}")
                    break
            if publisher is None:
                time.sleep(0.2)
                continue
        if time.time() >= next_pub:
            next_pub = time.time() + 0.05
            seq += 1
            msg = Twist_(linear=Vector3_(cmd[0], cmd[1], 0.0), angular=Vector3_(0.0, 0.0, cmd[2]))
            att = struct.pack("<qqB", seq, time.time_ns(), 16) + gid
            publisher.put(msg.serialize(), attachment=att)
            out["cmd_vel_published"] += 1
        time.sleep(0.005)
    for s in subs:
        s.undeclare()
    out["decode_errors"] = out["decode_errors"][:5]
    out["tokens"] = sorted(out["tokens"])[:200]
    print(json.dumps(out), flush=True)
    session.close()


if __name__ == "__main__":
    main()
