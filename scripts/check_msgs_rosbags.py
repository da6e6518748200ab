"""Independent check of g1_diffusion's CDR encoding with the Python `rosbags` package.

For every `<n>.cdr` (payload written by Rust), `<n>.msg` (the ros2msg schema Rust embeds in
bags) and `<n>.type` (the type name) in --dir:
  * the schema's standard types must declare the same fields as rosbags' ROS 2 Jazzy store;
  * rosbags deserialises the payload with that schema and serialises it again: the bytes
    must be identical;
  * with --golden DIR, rosbags' bytes are compared with (or, with --bless, written to)
    DIR/<type>.hex.
Prints one JSON object: per type {roundtrip, standard_fields, golden, values}."""
import argparse, json, pathlib, sys

import os
sys_path_dir = os.path.dirname(os.path.abspath(__file__))
import sys as _sys
_sys.path.insert(0, sys_path_dir)
from rosplain import plain  # noqa: E402
from rosbags.typesys import Stores, get_typestore, get_types_from_msg

SEP = "=" * 80 + "\n"


def parse_schema(name, text):
    sections = text.split(SEP)
    types = {}
    types.update(get_types_from_msg(sections[0], name))
    for s in sections[1:]:
        head, body = s.split("\n", 1)
        assert head.startswith("MSG: "), head
        pkg, t = head[5:].strip().split("/")
        types.update(get_types_from_msg(body, f"{pkg}/msg/{t}"))
    return types


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--golden")
    p.add_argument("--bless", action="store_true")
    a = p.parse_args()
    jazzy = get_typestore(Stores.ROS2_JAZZY)
    out, ok = {}, True
    for f in sorted(pathlib.Path(a.dir).glob("*.type")):
        name = f.read_text().strip()
        schema = f.with_suffix(".msg").read_text()
        payload = f.with_suffix(".cdr").read_bytes()
        types = parse_schema(name, schema)
        std_ok = True
        for t, fd in types.items():
            if t in jazzy.fielddefs and not t.startswith(("g1_diffusion/", "unitree_hg/")):
                # Compare field names and types (constants: names and values).
                if [x[0] for x in fd[1]] != [x[0] for x in jazzy.fielddefs[t][1]] or \
                   str(fd[1]) != str(jazzy.fielddefs[t][1]):
                    std_ok = False
                    print(f"{t}: fields differ from ROS 2 Jazzy:\n ours  {fd[1]}\n jazzy {jazzy.fielddefs[t][1]}", file=sys.stderr)
        ts = get_typestore(Stores.EMPTY)
        ts.register(types)
        msg = ts.deserialize_cdr(payload, name)
        back = bytes(ts.serialize_cdr(msg, name))
        rt = back == payload
        golden = None
        if a.golden:
            g = pathlib.Path(a.golden) / (name.replace("/", "__") + ".hex")
            if a.bless:
                g.write_text(back.hex() + "\n")
                golden = True
            else:
                golden = g.exists() and g.read_text().strip() == back.hex()
        out[name] = {"roundtrip": rt, "standard_fields": std_ok, "golden": golden, "values": plain(msg)}
        ok = ok and rt and std_ok and golden is not False
    print(json.dumps(out))
    sys.exit(0 if ok else 1)


main()
