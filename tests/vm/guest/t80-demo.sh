#!/bin/bash
# SPDX-License-Identifier: MIT
# 8. The demo on v2: scripts/demo, as `scripts/demo --vm` runs it, with the installed agent.
source "$(dirname "$0")/lib.sh"
cd "$OOMBREAKER_SOURCE_DIR"
DEMO_NONINTERACTIVE=1 OOMBREAKER=/usr/bin/oombreaker scripts/demo
