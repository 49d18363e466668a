#!/usr/bin/env bash
# Installs kiln into a scratch prefix with `cmake --install`, builds the API
# example against it through pkg-config alone, and runs it on the sample model.
# usage: test_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]
set -euo pipefail
build=$1 src=$2 extra=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
test -f "$prefix/include/kiln.h"
test -x "$prefix/bin/kiln"
cc -std=c11 -Wall -Werror $extra "$src/examples/hello_kiln.c" -o "$prefix/hello" $(pkg-config --cflags --libs kiln)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir kiln)" "$prefix/hello" "$src/models/sample_cnn.onnx"
"$prefix/bin/kiln" --version
echo "install: 1 passed, 0 failed"
