#!/bin/bash
# SPDX-License-Identifier: MIT
# 8. The demo on v2: scripts/demo, as `scripts/demo --vm` runs it (tests/vm/guest/demo.sh), with
# the installed agent.
source "$(dirname "$0")/lib.sh"
OOMBREAKER=/usr/bin/oombreaker exec bash "$OOMBREAKER_SOURCE_DIR/tests/vm/guest/demo.sh"
