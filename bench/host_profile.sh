#!/usr/bin/env bash
# Per-layer profiles of the benchmark models: builds kiln in Release (see
# host_build.sh; KILN_DEPS as there), writes the models, then for each model
# at batch 1 builds an engine (with the given tactic sources, default all)
# and prints `kiln bench --profile` at the given threads. Logs to $OUT
# (default out/host-profile).
# usage: bench/host_profile.sh THREADS [TACTIC_SOURCES] [TOP]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:?threads}
sources=${2:-kiln,openblas,onednn}
top=${3:-20}
out=${OUT:-out/host-profile}
models=${MODELS_DIR:-/tmp/kiln-bench-models}
mkdir -p "$out" "$models"
source bench/host_build.sh
for m in resnet50 mobilenetv2 bert_base; do
  [[ -f "$models/$m.onnx" ]] || python3 tests/models/make_models.py "$models" "$m" > /dev/null
done
declare -A shapes=([resnet50]="--shape input=1x3x224x224" [mobilenetv2]="--shape input=1x3x224x224"
                   [bert_base]="--shape input_ids=1x128 --shape attention_mask=1x128")
for m in resnet50 mobilenetv2 bert_base; do
  engine="$models/$m-$threads-${sources//,/-}.engine"
  # shellcheck disable=SC2086
  build-bench/kiln build "$models/$m.onnx" -o "$engine" ${shapes[$m]} --threads "$threads" \
    --tactic-sources "$sources" > /dev/null
  echo "== $m batch 1, $threads threads, tactic sources $sources"
  build-bench/kiln bench "$engine" --threads "$threads" --iterations 50 --warmup 10 --profile --top "$top"
done 2>&1 | tee "$out/profile-$threads-${sources//,/-}.log"
