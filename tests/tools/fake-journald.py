#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for journald's native socket, for tests: binds SOCKET (AF_UNIX datagrams), decodes
each entry of the native protocol (KEY=VALUE lines, or KEY, a 64-bit little-endian length and
the binary value) and appends it to OUT as one JSON object a line.

usage: fake-journald.py SOCKET OUT
"""
import json
import os
import socket
import struct
import sys


def decode(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            key, value = line, data[nl + 9 : nl + 9 + n]
            i = nl + 9 + n + 1
        fields[key.decode()] = value.decode(errors="replace")
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "a", encoding="utf-8") as f:
        while True:
            data = s.recv(1 << 20)
            f.write(json.dumps(decode(data)) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
