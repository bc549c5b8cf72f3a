#!/usr/bin/python3
"""Writes a fixture cgroup2 tree of many cgroups, the agent's policies over it, and an oomd
config watching the same cgroups, for the whole-agent benchmark (scripts/bench-whole.sh).

  gen-cgroup-tree.py --root DIR --policies N --targets-per-policy M --template CGDIR \
                     [--policy-dir DIR] [--oomd-config FILE] [--interval 1s] [--agent-only]

Tree: DIR/bench/pNN/cMMM for N policies × M targets, each a copy of the template cgroup's
files (tests/fixtures/cgroup-v2/system.slice/order-canary@1.service: a 6.x memory.stat,
memory.pressure, memory.events ...) plus the other files oomd 0.5 may open per cgroup
(memory.low/min/high, memory.swap.*, cgroup.*, io.pressure, pids.current), with
memory.current varied per cgroup. DIR itself gets root files (cgroup.controllers listing
memory) so both the agent and oomd take it for a cgroup2 root.

The values never breach: working set / limit ~0.55 against a 0.9 ratio rule, PSI some
avg10 3.1 against 50, oom_kill constant (the agent counts kills since arming). A tripped batch
stops evaluating, so a breach would end the measurement.

Policies (--policy-dir): bench-pNN.ini, one batch of M literal targets, rules
memory_ratio_above, psi_some_above and oom_kills_at_least, one http cut action to a closed
loopback port (it never runs). oomd (--oomd-config): one ruleset per policy over bench/pNN/*
with detector groups pressure_above (memory.pressure), memory_above on memory.current and on
anon (memory.stat), and memory_reclaim (pgscan in memory.stat); a dry-run kill action.
"""

import argparse
import json
import os
import sys

EXTRA_FILES = {
    "memory.low": "0\n",
    "memory.min": "0\n",
    "memory.high": "max\n",
    "memory.max": "2147483648\n",
    "memory.swap.current": "0\n",
    "memory.swap.max": "max\n",
    "memory.oom.group": "0\n",
    "cgroup.controllers": "memory pids io\n",
    "cgroup.subtree_control": "\n",
    "cgroup.procs": "",
    "cgroup.events": "populated 1\nfrozen 0\n",
    "cgroup.stat": "nr_descendants 0\nnr_dying_descendants 0\n",
    "io.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "io.stat": "",
    "pids.current": "12\n",
}


def write(path, text):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def template_files(cgdir):
    files = dict(EXTRA_FILES)
    for name in sorted(os.listdir(cgdir)):
        p = os.path.join(cgdir, name)
        if os.path.isfile(p):
            with open(p, encoding="ascii") as f:
                files[name] = f.read()
    files.pop("memory.current", None)  # varied per cgroup below
    return files


AGENT_FILES = ("memory.current", "memory.max", "memory.stat", "memory.events", "memory.pressure",
               "cgroup.controllers")


def make_tree(root, n_pol, n_tgt, files):
    os.makedirs(root, exist_ok=True)
    write(os.path.join(root, "cgroup.controllers"), "cpu io memory pids\n")
    write(os.path.join(root, "cgroup.subtree_control"), "memory pids io\n")
    for top in ("bench",) + tuple(f"bench/p{p:02d}" for p in range(n_pol)):
        d = os.path.join(root, top)
        os.makedirs(d, exist_ok=True)
        for name in ("cgroup.controllers", "cgroup.subtree_control", "memory.pressure",
                     "memory.stat", "memory.events", "memory.max"):
            write(os.path.join(d, name), files[name] if name in files else "memory\n")
        write(os.path.join(d, "memory.current"), "1073741824\n")
    for p in range(n_pol):
        for t in range(n_tgt):
            d = os.path.join(root, f"bench/p{p:02d}/c{t:03d}")
            os.makedirs(d, exist_ok=True)
            for name, text in files.items():
                write(os.path.join(d, name), text)
            # 1.2 GB give or take a few MiB: a ratio of ~0.6 (working set ~0.55) of 2 GiB
            write(os.path.join(d, "memory.current"), f"{1288490188 + (t * 7919 % 997) * 4096}\n")


def write_policies(pdir, n_pol, n_tgt, interval):
    os.makedirs(pdir, exist_ok=True)
    for p in range(n_pol):
        lines = [f"[batch]\nname = bench-p{p:02d}\nimage = registry.example.com/svc:v2-rc1\n"
                 f"interval = {interval}\nconsecutive = 3\n"]
        for t in range(n_tgt):
            lines.append(f"[target c{t:03d}]\ncgroup = /bench/p{p:02d}/c{t:03d}\n")
        lines.append("[rule ratio]\nmemory_ratio_above = 0.9\n")
        lines.append("[rule psi]\npsi_some_above = 50\n")
        lines.append("[rule oom]\noom_kills_at_least = 1\n")
        lines.append("[action cut]\ntype = http\nurl = http://127.0.0.1:9/cut\n")
        path = os.path.join(pdir, f"bench-p{p:02d}.ini")
        write(path, "\n".join(lines))
        os.chmod(path, 0o644)


def oomd_config(n_pol):
    def plugin(name, **args):
        return {"name": name, "args": {k: str(v) for k, v in args.items()}}

    rulesets = []
    for p in range(n_pol):
        cg = f"bench/p{p:02d}/*"
        rulesets.append({
            "name": f"bench-p{p:02d}",
            "silence-logs": "engine",
            "detectors": [
                ["psi", plugin("pressure_above", cgroup=cg, resource="memory", threshold=50,
                               duration=3)],
                ["current", plugin("memory_above", cgroup=cg, threshold="90%", duration=3)],
                ["anon", plugin("memory_above", cgroup=cg, threshold_anon="90%", duration=3)],
                ["reclaim", plugin("memory_reclaim", cgroup=cg, duration=3),
                 plugin("pressure_above", cgroup=cg, resource="memory", threshold=50,
                        duration=3)],
            ],
            "actions": [plugin("kill_by_memory_size_or_growth", cgroup=cg, dry="true")],
        })
    return {"rulesets": rulesets}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--policies", type=int, required=True)
    ap.add_argument("--targets-per-policy", type=int, required=True)
    ap.add_argument("--template", required=True, help="a fixture cgroup directory to copy")
    ap.add_argument("--policy-dir")
    ap.add_argument("--oomd-config")
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--agent-only", action="store_true",
                    help="only the files the agent opens (a big tree takes less memory)")
    a = ap.parse_args(argv)
    if not (1 <= a.policies <= 99 and 1 <= a.targets_per_policy <= 256):
        ap.error("want 1..99 policies of 1..256 targets (the policy format caps targets at 256)")
    files = template_files(a.template)
    if a.agent_only:
        files = {k: v for k, v in files.items() if k in AGENT_FILES}
    make_tree(a.root, a.policies, a.targets_per_policy, files)
    if a.policy_dir:
        write_policies(a.policy_dir, a.policies, a.targets_per_policy, a.interval)
    if a.oomd_config:
        write(a.oomd_config, json.dumps(oomd_config(a.policies), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
