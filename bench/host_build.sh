# Sourced by the host_*.sh scripts: puts the extracted Debian packages of
# KILN_DEPS (DIR/usr/...) on the paths, then configures and builds kiln in
# Release into build-bench, logging to $out.
if [[ -n "${KILN_DEPS:-}" ]]; then
  deps=$(cd "$KILN_DEPS" && pwd)
  pc=$(mktemp -d)
  for f in "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc; do
    sed "s|^prefix=/usr|prefix=$deps/usr|" "$f" > "$pc/$(basename "$f")"
  done
  export PATH="$deps/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export PKG_CONFIG_PATH="$pc:${PKG_CONFIG_PATH:-}"
  cmake_deps=(-DKILN_DEPS="$deps")
else
  cmake_deps=()
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_deps[@]}" > "$out/configure.log" 2>&1
cmake --build build-bench > "$out/build.log" 2>&1
grep -E "oneDNN|onednn" "$out/configure.log" || true
