"""Shared helper of the Python cross-checks: a rosbags message as plain JSON-able data."""
import numpy as np


def plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return {k: plain(getattr(v, k)) for k in v.__dataclass_fields__ if k != "__msgtype__"}
    if isinstance(v, np.generic):
        return v.item()
    return v
