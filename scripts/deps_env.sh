# Sourced by the scripts that build kiln on a machine lacking some of its
# build dependencies: when KILN_DEPS names a folder of extracted Debian
# packages (DIR/usr/...), puts it on PATH, LD_LIBRARY_PATH and
# PKG_CONFIG_PATH (with the .pc files' prefix rewritten) and sets
# cmake_deps=(-DKILN_DEPS=DIR) for the configure step; else cmake_deps=().
cmake_deps=()
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
fi
