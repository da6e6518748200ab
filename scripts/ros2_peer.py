"""An independent ROS 2 peer for the interop tests, on Eclipse Cyclone DDS (PyPI `cyclonedds`),
speaking what rmw_cyclonedds puts on the wire; the types are declared here from the
rcl_interfaces / rmw_dds_common definitions.

  ros2_peer.py graph --domain D --seconds S [--expect a,b,...]
      reads ros_discovery_info (rmw_dds_common/ParticipantEntitiesInfo) and /rosout
      (rcl_interfaces/Log) until every expected node has been seen in the graph and has
      logged (or S seconds pass); prints one JSON line: {"nodes": [...], "rosout": [...]}.

  ros2_peer.py param --domain D --node /g1_planner --ops JSON [--format cyclone|bare]
      calls the node's parameter services; ops is a list of
      ["list"], ["get", [names]], ["types", [names]], ["describe", [names]],
      ["set", {name: value}], ["set_atomically", {name: value}], ["dump", path] (the
      parameters as `ros2 param dump` writes them) and ["sleep", seconds].
      `cyclone` requests carry rmw_cyclonedds' request header (client id, sequence number) in
      front of the payload and take the reply with the same header; `bare` requests are the
      payload alone. Prints one JSON line: the list of answers.

  ros2_peer.py call --domain D --service /g1_bridge/set_mode --type g1_diffusion/srv/SetMode
               --request JSON
      calls one service of this package (SetMode, std_srvs/Trigger) in rmw_cyclonedds' format.
"""
import argparse
import json
import os
import random
import sys
import time
import types

import yaml
from dataclasses import dataclass

from cyclonedds.core import Qos, Policy
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float64, int32, int64, sequence, uint8, uint32, uint64
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dds_peer import Log_, Time_  # noqa: E402,F401


# --- rmw_dds_common (Iron and later: a GID is 16 bytes) -----------------------------------------
@dataclass
class Gid_(IdlStruct, typename="rmw_dds_common::msg::dds_::Gid_"):
    data: array[uint8, 16]


@dataclass
class NodeEntitiesInfo_(IdlStruct, typename="rmw_dds_common::msg::dds_::NodeEntitiesInfo_"):
    node_namespace: str
    node_name: str
    reader_gid_seq: sequence[Gid_]
    writer_gid_seq: sequence[Gid_]


@dataclass
class ParticipantEntitiesInfo_(IdlStruct, typename="rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_"):
    gid: Gid_
    node_entities_info_seq: sequence[NodeEntitiesInfo_]


# --- builtin_interfaces / rcl_interfaces ---------------------------------------------------------
# builtin_interfaces/Time and rcl_interfaces/Log: scripts/dds_peer.py


@dataclass
class ParameterValue_(IdlStruct, typename="rcl_interfaces::msg::dds_::ParameterValue_"):
    type: uint8
    bool_value: bool
    integer_value: int64
    double_value: float64
    string_value: str
    byte_array_value: sequence[uint8]
    bool_array_value: sequence[bool]
    integer_array_value: sequence[int64]
    double_array_value: sequence[float64]
    string_array_value: sequence[str]


@dataclass
class Parameter_(IdlStruct, typename="rcl_interfaces::msg::dds_::Parameter_"):
    name: str
    value: ParameterValue_


@dataclass
class SetParametersResult_(IdlStruct, typename="rcl_interfaces::msg::dds_::SetParametersResult_"):
    successful: bool
    reason: str


@dataclass
class FloatingPointRange_(IdlStruct, typename="rcl_interfaces::msg::dds_::FloatingPointRange_"):
    from_value: float64
    to_value: float64
    step: float64


@dataclass
class IntegerRange_(IdlStruct, typename="rcl_interfaces::msg::dds_::IntegerRange_"):
    from_value: int64
    to_value: int64
    step: uint64


@dataclass
class ParameterDescriptor_(IdlStruct, typename="rcl_interfaces::msg::dds_::ParameterDescriptor_"):
    name: str
    type: uint8
    description: str
    additional_constraints: str
    read_only: bool
    dynamic_typing: bool
    floating_point_range: sequence[FloatingPointRange_]
    integer_range: sequence[IntegerRange_]


@dataclass
class ListParametersResult_(IdlStruct, typename="rcl_interfaces::msg::dds_::ListParametersResult_"):
    names: sequence[str]
    prefixes: sequence[str]


def service_type(pkg, name, fields, header):
    """One half of a service type, `pkg::srv::dds_::name`; with rmw_cyclonedds' header (client
    id, sequence number) in front when `header`."""
    annotations = {"client_id": uint64, "seq": int64} if header else {}
    annotations.update(fields)
    cls = types.new_class(name, (IdlStruct,), {"typename": f"{pkg}::srv::dds_::{name}"},
                          lambda ns: ns.update({"__annotations__": annotations}))
    return dataclass(cls)


# This package's and std_srvs' services: (request fields, response fields).
OTHER_SERVICES = {
    "g1_diffusion/srv/SetMode": ({"mode": str}, {"success": bool, "mode": str, "message": str}),
    "std_srvs/srv/Trigger": ({"structure_needs_at_least_one_member": uint8},
                             {"success": bool, "message": str}),
}


def service_types(header):
    """Request and reply types of the parameter services."""
    def make(name, fields):
        return service_type("rcl_interfaces", name, fields, header)
    return {
        "list": (make("ListParameters_Request_", {"prefixes": sequence[str], "depth": uint64}),
                 make("ListParameters_Response_", {"result": ListParametersResult_})),
        "get": (make("GetParameters_Request_", {"names": sequence[str]}),
                make("GetParameters_Response_", {"values": sequence[ParameterValue_]})),
        "types": (make("GetParameterTypes_Request_", {"names": sequence[str]}),
                  make("GetParameterTypes_Response_", {"types": sequence[uint8]})),
        "describe": (make("DescribeParameters_Request_", {"names": sequence[str]}),
                     make("DescribeParameters_Response_", {"descriptors": sequence[ParameterDescriptor_]})),
        "set": (make("SetParameters_Request_", {"parameters": sequence[Parameter_]}),
                make("SetParameters_Response_", {"results": sequence[SetParametersResult_]})),
        "set_atomically": (make("SetParametersAtomically_Request_", {"parameters": sequence[Parameter_]}),
                           make("SetParametersAtomically_Response_", {"result": SetParametersResult_})),
    }


SERVICE_NAMES = {"list": "list_parameters", "get": "get_parameters", "types": "get_parameter_types",
                 "describe": "describe_parameters", "set": "set_parameters",
                 "set_atomically": "set_parameters_atomically"}


def to_value(v):
    """A JSON value as an rcl_interfaces ParameterValue (typed as `ros2 param set` types it)."""
    pv = ParameterValue_(0, False, 0, 0.0, "", [], [], [], [], [])
    if isinstance(v, bool):
        pv.type, pv.bool_value = 1, v
    elif isinstance(v, int):
        pv.type, pv.integer_value = 2, v
    elif isinstance(v, float):
        pv.type, pv.double_value = 3, v
    elif isinstance(v, str):
        pv.type, pv.string_value = 4, v
    elif isinstance(v, list) and all(isinstance(x, bool) for x in v):
        pv.type, pv.bool_array_value = 6, v
    elif isinstance(v, list) and all(isinstance(x, int) for x in v):
        pv.type, pv.integer_array_value = 7, v
    elif isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
        pv.type, pv.double_array_value = 8, [float(x) for x in v]
    elif isinstance(v, list):
        pv.type, pv.string_array_value = 9, [str(x) for x in v]
    return pv


def from_value(pv):
    return {0: None, 1: pv.bool_value, 2: pv.integer_value, 3: pv.double_value, 4: pv.string_value,
            5: list(pv.byte_array_value), 6: list(pv.bool_array_value), 7: list(pv.integer_array_value),
            8: list(pv.double_array_value), 9: list(pv.string_array_value)}.get(pv.type)


SERVICE_QOS = Qos(Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
                  Policy.Durability.Volatile, Policy.History.KeepLast(10))


class ServiceClient:
    """One service client: requests on rq/<name>Request, replies from rr/<name>Reply."""

    def __init__(self, dp, name, req_t, rep_t, header):
        self.req_t, self.rep_t, self.header = req_t, rep_t, header
        self.writer = DataWriter(dp, Topic(dp, f"rq{name}Request", req_t), qos=SERVICE_QOS)
        self.reader = DataReader(dp, Topic(dp, f"rr{name}Reply", rep_t), qos=SERVICE_QOS)
        self.client_id = random.getrandbits(63)
        self.seq = 0

    def call(self, timeout_s=10.0, **fields):
        """Sends the request (again every second until a reply comes: the first may go out
        before discovery has matched the service) and returns the reply."""
        t_end = time.time() + timeout_s
        sent = set()
        next_send = 0.0
        while time.time() < t_end:
            if time.time() >= next_send:
                self.seq += 1
                extra = {"client_id": self.client_id, "seq": self.seq} if self.header else {}
                self.writer.write(self.req_t(**extra, **fields))
                sent.add(self.seq)
                next_send = time.time() + 1.0
            for r in self.reader.take(N=100):
                if not self.header:
                    return r
                if r.client_id == self.client_id and r.seq in sent:
                    return r
            time.sleep(0.01)
        raise TimeoutError(f"no reply within {timeout_s} s")


def param(a):
    dp = DomainParticipant(a.domain)
    header = a.format == "cyclone"
    kinds = service_types(header)
    node = a.node.rstrip("/")
    clients = {}

    def client(kind):
        if kind not in clients:
            req_t, rep_t = kinds[kind]
            clients[kind] = ServiceClient(dp, f"{node}/{SERVICE_NAMES[kind]}", req_t, rep_t, header)
        return clients[kind]

    out = []
    for op in json.loads(a.ops):
        kind = op[0]
        if kind == "sleep":
            time.sleep(float(op[1]))
            out.append(None)
        elif kind == "list":
            r = client("list").call(prefixes=[], depth=0)
            out.append({"names": list(r.result.names), "prefixes": list(r.result.prefixes)})
        elif kind == "get":
            r = client("get").call(names=op[1])
            out.append([from_value(v) for v in r.values])
        elif kind == "types":
            r = client("types").call(names=op[1])
            out.append(list(r.types))
        elif kind == "describe":
            r = client("describe").call(names=op[1])
            out.append([{"name": d.name, "type": d.type, "read_only": d.read_only,
                         "description": d.description} for d in r.descriptors])
        elif kind == "dump":
            # What `ros2 param dump` writes: every parameter, nested by its dots, under the
            # node's fully qualified name and ros__parameters.
            names = list(client("list").call(prefixes=[], depth=0).result.names)
            values = [from_value(v) for v in client("get").call(names=names).values]
            tree = {}
            for n, v in zip(names, values):
                d = tree
                parts = n.split(".")
                for p in parts[:-1]:
                    d = d.setdefault(p, {})
                d[parts[-1]] = v
            text = yaml.dump({a.node: {"ros__parameters": tree}}, default_flow_style=False)
            with open(op[1], "w") as f:
                f.write(text)
            out.append(len(names))
        elif kind in ("set", "set_atomically"):
            ps = [Parameter_(k, to_value(v)) for k, v in op[1].items()]
            r = client(kind).call(parameters=ps)
            results = r.results if kind == "set" else [r.result]
            out.append([{"successful": x.successful, "reason": x.reason} for x in results])
        else:
            sys.exit(f"unknown op {kind}")
    print(json.dumps(out), flush=True)


def call(a):
    dp = DomainParticipant(a.domain)
    pkg, _, name = a.type.split("/")
    req_f, rep_f = OTHER_SERVICES[a.type]
    req_t = service_type(pkg, f"{name}_Request_", req_f, True)
    rep_t = service_type(pkg, f"{name}_Response_", rep_f, True)
    c = ServiceClient(dp, a.service, req_t, rep_t, True)
    r = c.call(**json.loads(a.request))
    print(json.dumps({k: getattr(r, k) for k in rep_f}), flush=True)


def graph(a):
    dp = DomainParticipant(a.domain)
    latched = Qos(Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
                  Policy.Durability.TransientLocal, Policy.History.KeepLast(1000))
    info = DataReader(dp, Topic(dp, "ros_discovery_info", ParticipantEntitiesInfo_), qos=latched)
    rosout = DataReader(dp, Topic(dp, "rt/rosout", Log_), qos=latched)
    expect = [e for e in a.expect.split(",") if e]
    participants, logs = {}, []
    t_end = time.time() + a.seconds
    while time.time() < t_end:
        for p in info.take(N=100):
            participants[bytes(p.gid.data).hex()] = [
                {"namespace": n.node_namespace, "name": n.node_name,
                 "readers": len(n.reader_gid_seq), "writers": len(n.writer_gid_seq)}
                for n in p.node_entities_info_seq]
        for m in rosout.take(N=100):
            logs.append({"name": m.name, "level": m.level, "msg": m.msg, "file": m.file,
                         "line": m.line})
        names = {n["name"] for ns in participants.values() for n in ns}
        logged = {m["name"] for m in logs}
        if expect and all(e in names for e in expect) and all(e in logged for e in a.logged.split(",") if e):
            break
        time.sleep(0.05)
    nodes = [n for ns in participants.values() for n in ns]
    print(json.dumps({"nodes": nodes, "participants": len(participants), "rosout": logs}), flush=True)


p = argparse.ArgumentParser()
p.add_argument("mode", choices=["graph", "param", "call"])
p.add_argument("--domain", type=int, default=0)
p.add_argument("--seconds", type=float, default=10.0)
p.add_argument("--expect", default="")
p.add_argument("--logged", default="", help="graph: also wait for a /rosout line from these loggers")
p.add_argument("--node", default="/g1_planner")
p.add_argument("--ops", default='[["list"]]')
p.add_argument("--format", choices=["cyclone", "bare"], default="cyclone")
p.add_argument("--service", default="/g1_bridge/set_mode")
p.add_argument("--type", default="g1_diffusion/srv/SetMode")
p.add_argument("--request", default="{}")
a = p.parse_args()
{"graph": graph, "param": param, "call": call}[a.mode](a)
