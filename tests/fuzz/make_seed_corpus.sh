#!/bin/sh
# Fills a libFuzzer seed corpus for fuzz_onnx_load with the small valid
# models (and a few bad ones) that tests/bad_input/gen_bad_models.py writes.
# usage: make_seed_corpus.sh PYTHON CORPUS_DIR
set -eu
python=$1
corpus=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$here/../bad_input/gen_bad_models.py" "$work/models" >/dev/null
mkdir -p "$corpus"
for f in valid_add valid_if valid_typed truncated negative_dim raw_size typed_count foreign_domain; do
    cp "$work/models/$f.onnx" "$corpus/$f.onnx"
done
cp "$work/models/valid_external/model.onnx" "$corpus/valid_external.onnx"
echo "seed corpus in $corpus"
