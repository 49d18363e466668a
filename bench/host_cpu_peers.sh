#!/usr/bin/env bash
# On the host CPU of a GPU machine (or any machine with ONNX Runtime): builds
# kiln in Release (KILN_DEPS=DIR: a folder of extracted Debian packages for
# build dependencies the machine lacks, such as protobuf-c and oneDNN), runs
# the unit tests, then bench/cpu_peers.py with the given threads. Logs and
# results go to $OUT (default out/host-bench).
# usage: [LAYOUT=auto|nchw|nhwc] bench/host_cpu_peers.sh THREADS SECONDS_PER_CONFIG COMMIT [NOTE]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:?threads}
seconds=${2:?seconds per configuration}
commit=${3:?commit of the tree}
note=${4:-}
out=${OUT:-out/host-bench}
mkdir -p "$out"
source bench/host_build.sh
ctest --test-dir build-bench -R "unit" --output-on-failure > "$out/ctest.log" 2>&1 || { tail -40 "$out/ctest.log"; exit 1; }
tail -3 "$out/ctest.log"
name=$(date +%F)-cpu-peers-$(hostname -s | tr -c 'a-zA-Z0-9\n' -)-${threads}t.md
python3 bench/cpu_peers.py --kiln build-bench/kiln --threads "$threads" --seconds-per-config "$seconds" \
  --commit "$commit" --layout "${LAYOUT:-auto}" --models-dir "${MODELS_DIR:-/tmp/kiln-bench-models}" --out "$out/$name" --note "$note" 2>&1 | tee "$out/cpu_peers.log"
