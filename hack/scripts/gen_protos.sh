#!/usr/bin/env bash
# Regenerate cvk/grpcapi/gen/ from proto/ with grpcio-tools (the checked-in modules must match:
# tests/grpc/test_protos.py fails when they are stale).
#   hack/scripts/gen_protos.sh            regenerate in place
#   hack/scripts/gen_protos.sh OUTDIR     generate into OUTDIR instead (used by the staleness test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT="${1:-$ROOT/cvk/grpcapi/gen}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT/proto"
mapfile -t PROTOS < <(find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
"$PY" -m grpc_tools.protoc -I. --python_out="$TMP" --pyi_out="$TMP" --grpc_python_out="$TMP" "${PROTOS[@]}"
# protoc writes absolute imports ("from gnoi.types import types_pb2"); make them package-relative to
# cvk.grpcapi.gen so the modules import without touching sys.path.
find "$TMP" -name '*.py' -o -name '*.pyi' | while read -r f; do
    sed -i -E \
        -e 's/^from (gnmi|gnmi_ext|gnoi)(\.[A-Za-z0-9_.]+)? import /from cvk.grpcapi.gen.\1\2 import /' \
        -e 's/^import (gnmi|gnmi_ext|gnoi)(\.[A-Za-z0-9_.]+)? as /import cvk.grpcapi.gen.\1\2 as /' \
        "$f"
done
# Generated gRPC modules are untyped and the stubs use protobuf's own (untyped here) classes: keep mypy
# --strict quiet inside them.
find "$TMP" \( -name '*_pb2_grpc.py' -o -name '*_pb2.pyi' \) | while read -r f; do
    sed -i '1i # mypy: ignore-errors' "$f"
done
find "$TMP" -type d | while read -r d; do touch "$d/__init__.py"; done
echo '"""Modules generated from proto/ by hack/scripts/gen_protos.sh. Do not edit."""' > "$TMP/__init__.py"
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$TMP"/. "$OUT"/
