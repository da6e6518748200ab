"""Reads a rosbag2 directory with two independent Python readers and prints per-topic counts.

  * `rosbags` (AnyReader): types registered from the schemas embedded in the bag, every
    message deserialised;
  * `mcap` + `mcap-ros2-support`: every message decoded from the MCAP file's ros2msg schemas.
Output: {"rosbags": {topic: count}, "mcap": {topic: count}, "custom_data": {...},
"samples": {topic: first message as plain data}}. Exit 1 on any failure."""
import json, pathlib, sys

import os
sys_path_dir = os.path.dirname(os.path.abspath(__file__))
import sys as _sys
_sys.path.insert(0, sys_path_dir)
from rosplain import plain  # noqa: E402
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore


def main(path):
    bag = pathlib.Path(path)
    out = {"rosbags": {}, "mcap": {}, "samples": {}}
    with AnyReader([bag], default_typestore=get_typestore(Stores.EMPTY)) as r:
        for conn, t, raw in r.messages():
            msg = r.deserialize(raw, conn.msgtype)
            out["rosbags"][conn.topic] = out["rosbags"].get(conn.topic, 0) + 1
            if conn.topic not in out["samples"]:
                out["samples"][conn.topic] = plain(msg)
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    mcaps = sorted(bag.glob("*.mcap"))
    with open(mcaps[0], "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            out["mcap"][channel.topic] = out["mcap"].get(channel.topic, 0) + 1
        meta = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    out["custom_data"] = meta.get("g1d_run")
    print(json.dumps(out))


main(sys.argv[1])
