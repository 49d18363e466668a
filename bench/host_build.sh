# Sourced by the host_*.sh scripts: puts the extracted Debian packages of
# KILN_DEPS on the paths (scripts/deps_env.sh), then configures and builds
# kiln in Release into build-bench, logging to $out.
source scripts/deps_env.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_deps[@]}" > "$out/configure.log" 2>&1
cmake --build build-bench > "$out/build.log" 2>&1
grep -E "oneDNN|onednn" "$out/configure.log" || true
