#!/usr/bin/env bash
# deploy/kubernetes, checked without a cluster: every policy in the ConfigMap passes
# `oombreaker check`; every argument the DaemonSet passes is an option of `oombreaker run`, and
# every path those arguments name is a mounted volume; and `oombreaker run` arms the batches
# from a directory laid out the way the kubelet mounts a ConfigMap (files are symlinks through
# `..data` into a timestamped directory).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${OOMBREAKER_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/common.sh"

BIN=${OOMBREAKER:?set OOMBREAKER to the oombreaker binary}
"$PYTHON" -c 'import yaml' 2>/dev/null || skip "needs python3-yaml (see scripts/lib/deps.sh)"
tmpdir_setup
k8s=$SOURCE_DIR/deploy/kubernetes

# The kubelet's layout: <dir>/..<timestamp>/<key>, ..data -> ..<timestamp>, <key> -> ..data/<key>.
"$PYTHON" - "$k8s/configmap-policies.yaml" "$TEST_TMP/policies" <<'PY'
import os, sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
assert cm["kind"] == "ConfigMap", cm["kind"]
top = sys.argv[2]
ts = os.path.join(top, "..2026_12_02_14_00_00.000000001")
os.makedirs(ts)
for key, text in cm["data"].items():
    with open(os.path.join(ts, key), "w") as f:
        f.write(text)
    os.symlink(os.path.join("..data", key), os.path.join(top, key))
os.symlink(os.path.basename(ts), os.path.join(top, "..data"))
PY
n=0
for p in "$TEST_TMP"/policies/*.ini; do
	"$BIN" check "$p" >"$TEST_TMP/check.out" 2>&1 || fail "$(basename "$p"): $(cat "$TEST_TMP/check.out")"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "the ConfigMap holds no *.ini policy"
echo "ConfigMap: $n policies pass oombreaker check"

# The DaemonSet's container: its args against `run --help`, its paths against its mounts.
"$PYTHON" - "$k8s/daemonset.yaml" >"$TEST_TMP/args" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ds = next(d for d in docs if d["kind"] == "DaemonSet")
c = ds["spec"]["template"]["spec"]["containers"][0]
mounts = {m["mountPath"] for m in c["volumeMounts"]}
vols = {v["name"] for v in ds["spec"]["template"]["spec"]["volumes"]}
for m in c["volumeMounts"]:
    assert m["name"] in vols, "mount of an undeclared volume: " + m["name"]
assert c["args"][0] == "run", c["args"]
for a in c["args"][1:]:
    opt, _, val = a.partition("=")
    print(opt)
    if opt in ("--policy-dir", "--state-dir", "--cgroup-root"):
        assert val in mounts, f"{opt}={val} is not a mounted volume ({sorted(mounts)})"
    if opt == "--socket":
        assert val.rsplit("/", 1)[0] in mounts, f"--socket {val}: its directory is not mounted"
PY
"$BIN" run --help >"$TEST_TMP/help"
while read -r opt; do
	grep -q -- "^ *$opt " "$TEST_TMP/help" || fail "the DaemonSet passes $opt, which run does not take"
done <"$TEST_TMP/args"
echo "DaemonSet: $(wc -l <"$TEST_TMP/args") arguments, all options of run; paths mounted"

# The agent arms the ConfigMap's batches from the kubelet's layout.
cp -a "$SOURCE_DIR/tests/fixtures/cgroup-v2" "$TEST_TMP/cg"
spawn agent "$BIN" run --policy-dir "$TEST_TMP/policies" --state-dir "$TEST_TMP/state" \
	--socket "$TEST_TMP/ctl.sock" --listen none --cgroup-root "$TEST_TMP/cg"
armed() { [ "$(grep -c ': armed from ' "$TEST_TMP/agent.log")" -eq "$n" ]; }
wait_until 10 armed || fail "not every batch armed: $(cat "$TEST_TMP/agent.log")"
grep ': armed from ' "$TEST_TMP/agent.log"
echo "PASS"
