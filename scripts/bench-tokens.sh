#!/usr/bin/env bash
# Token issue/verify against raw ECDSA P-256 sign/verify of the same backend, same run.
# Usage: scripts/bench-tokens.sh   (about a minute; prints ops/s and the ratios)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p altdist --bench tokens -- --warm-up-time 2 --measurement-time 5 "$@" >&2
python3 - <<'PY'
import json, os
base = os.environ.get("CARGO_TARGET_DIR", "target") + "/criterion/es256"
ops = {}
for name in ["raw_sign", "token_issue", "raw_verify", "token_verify"]:
    with open(f"{base}/{name}/new/estimates.json") as f:
        ns = json.load(f)["mean"]["point_estimate"]
    ops[name] = 1e9 / ns
    print(f"{name:13} {ops[name]:>9.0f} ops/s  ({ns/1000:.1f} µs)")
print(f"issue  / raw sign   = {ops['token_issue']/ops['raw_sign']:.3f}  (target >= 0.85)")
print(f"verify / raw verify = {ops['token_verify']/ops['raw_verify']:.3f}  (target >= 0.85)")
PY
