#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks JSON output against the field tables of docs/json.md.

usage: json-schema-check.py DOC KIND [FILE]

KIND is the first component of the table paths (status, batch, replay, log, envelope). FILE
(default: standard input) holds one JSON document, or JSON Lines with one document a line.
Every member of the output must be documented with one of its types (an integer is not a
"number" written as 54013952.0: that is a real), and every required member must be there.
Exits 1 with one line per problem.
"""
import json
import re
import sys

TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
ROW = re.compile(r"^\|\s*([a-z_]+(?:\.[a-z0-9_]+|\[\])*)\s*\|\s*([a-z|\\]+)\s*\|\s*(yes|no)\s*\|")


def load_doc(path, kind):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line)
            if m:
                rows[m.group(1)] = (m.group(2).replace("\\", "").split("|"), m.group(3) == "yes")
    fields = {}
    for p, (types, req) in rows.items():
        if p.split(".")[0].split("[")[0] != kind:
            continue
        if len(types) == 1 and types[0] not in TYPES:  # "batch": that table's fields here
            ref = types[0]
            fields[p] = (["object"], req)
            for q, v in rows.items():
                if q.startswith(ref + "."):
                    fields[p + q[len(ref) :]] = v
            continue
        unknown = [t for t in types if t not in TYPES]
        if unknown:
            sys.exit(f"{path}: {p}: unknown type {unknown[0]}")
        fields[p] = (types, req)
    if not fields:
        sys.exit(f"{path}: no table rows for '{kind}'")
    fields.setdefault(kind, (["object"], True))  # every document is one object
    for p in list(fields):  # an array's elements are objects when the table lists their members
        head = p.rsplit(".", 1)[0]
        if head.endswith("[]"):
            fields.setdefault(head, (["object"], True))
    return fields


def check(value, path, fields, problems):
    if path not in fields:
        problems.append(f"{path}: not documented in docs/json.md")
        return
    types, _ = fields[path]
    if not any(TYPES[t](value) for t in types):
        problems.append(f"{path}: {json.dumps(value)[:60]} is not {'|'.join(types)}")
        return
    if isinstance(value, dict):
        for key, v in value.items():
            check(v, f"{path}.{key}", fields, problems)
        for p, (_, req) in fields.items():
            head, _, key = p.rpartition(".")
            if head == path and req and not key.endswith("[]") and key not in value:
                problems.append(f"{p}: required, missing")
    elif isinstance(value, list):
        for v in value:
            check(v, f"{path}[]", fields, problems)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    doc, kind = sys.argv[1], sys.argv[2]
    fields = load_doc(doc, kind)
    text = open(sys.argv[3], encoding="utf-8").read() if len(sys.argv) == 4 else sys.stdin.read()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    problems = []
    for d in docs:
        check(d, kind, fields, problems)
    for p in sorted(set(problems)):
        print(f"{kind}: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
