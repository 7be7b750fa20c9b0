# Shared by tools/demo and tools/test: install what is missing, configure, build.
# Sourced, not run.

# ensure_packages PKG...: installs the Debian packages that are not installed
# yet; silent when all are present. Needs root (or sudo) only when installing.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages every build needs (prometheus-cpp-dev: `flashstock serve --metrics`).
FLASHSTOCK_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libabsl-dev libboost-dev libgtest-dev
                           libgmock-dev libbenchmark-dev libxxhash-dev libpq-dev libsqlite3-dev
                           prometheus-cpp-dev)

# configure_and_build DIR BUILD_TYPE [cmake args...]
configure_and_build() {
  local dir=$1 type=$2
  shift 2
  local gen=()
  command -v ninja >/dev/null && [ ! -f "$dir/CMakeCache.txt" ] && gen=(-G Ninja)
  cmake -S "$FLASHSTOCK_ROOT" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  echo "building $type in $dir (log: $dir/build.log)"
  local rc=0
  cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    grep -vE '^\[[0-9]+/[0-9]+\] ' "$dir/build.log" | tail -60
    return "$rc"
  fi
}
