"""Independent reference for the unitree_hg C layout and CRC32 (used by crates/hg tests).

Reads JSON lines {"kind": "LowCmd"|"LowState", fields...} on stdin; for each prints one JSON
line {"bytes": hex of the C struct image, "crc": the CRC over all words but the last}.
The layouts are Python `struct` formats written from Unitree's C headers (natural alignment,
explicit pad bytes), the CRC the bit-serial loop of Unitree's SDK description: words read
little-endian, MSB first, polynomial 0x04C11DB7, init 0xFFFFFFFF, no reflection, no final XOR."""
import json
import struct
import sys

MOTOR_CMD = "<B3x5fI"                                   # 28 bytes
LOW_CMD_HEAD = "<BB2x"                                  # 4
LOW_CMD_TAIL = "<4II"                                   # reserve[4], crc
IMU = "<4f3f3f3fh2x"                                    # 56
MOTOR_STATE = "<B3x4f2hf2II4I"                          # 56
LOW_STATE_HEAD = "<2IBB2xI"                             # 16
LOW_STATE_TAIL = "<40s4II"                              # remote[40], reserve[4], crc

assert struct.calcsize(MOTOR_CMD) == 28 and struct.calcsize(IMU) == 56
assert struct.calcsize(MOTOR_STATE) == 56


def crc32_core(words):
    crc = 0xFFFFFFFF
    poly = 0x04C11DB7
    for data in words:
        xbit = 1 << 31
        for _ in range(32):
            if crc & 0x80000000:
                crc = ((crc << 1) & 0xFFFFFFFF) ^ poly
            else:
                crc = (crc << 1) & 0xFFFFFFFF
            if data & xbit:
                crc ^= poly
            xbit >>= 1
    return crc


def pack_low_cmd(m):
    b = struct.pack(LOW_CMD_HEAD, m["mode_pr"], m["mode_machine"])
    for c in m["motor_cmd"]:
        b += struct.pack(MOTOR_CMD, c["mode"], c["q"], c["dq"], c["tau"], c["kp"], c["kd"], c["reserve"])
    b += struct.pack(LOW_CMD_TAIL, *m["reserve"], m["crc"])
    assert len(b) == 1004
    return b


def pack_low_state(m):
    b = struct.pack(LOW_STATE_HEAD, *m["version"], m["mode_pr"], m["mode_machine"], m["tick"])
    i = m["imu_state"]
    b += struct.pack(IMU, *i["quaternion"], *i["gyroscope"], *i["accelerometer"], *i["rpy"], i["temperature"])
    for s in m["motor_state"]:
        b += struct.pack(MOTOR_STATE, s["mode"], s["q"], s["dq"], s["ddq"], s["tau_est"], *s["temperature"],
                         s["vol"], *s["sensor"], s["motorstate"], *s["reserve"])
    b += struct.pack(LOW_STATE_TAIL, bytes(m["wireless_remote"]), *m["reserve"], m["crc"])
    assert len(b) == 2092
    return b


def crc_of_image(b):
    """The CRC of a struct image without its last word (the CRC field itself)."""
    words = struct.unpack("<%dI" % (len(b) // 4), b)
    return crc32_core(words[:-1])


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        m = json.loads(line)
        b = pack_low_cmd(m) if m["kind"] == "LowCmd" else pack_low_state(m)
        print(json.dumps({"bytes": b.hex(), "crc": crc_of_image(b)}), flush=True)


if __name__ == "__main__":
    main()
