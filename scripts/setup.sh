#!/usr/bin/env bash
# Installs what riptide needs on Debian 12 and builds it into build/.
# Idempotent: when nothing is missing it only runs an incremental build.
#   scripts/setup.sh --test-tools   also the tools the tests drive: promtool (Debian's
#                                   prometheus), headless chromium, and a one-node Slurm
#                                   (slurm-wlm, munge) the Slurm test starts, strace for the
#                                   durability test, ccache for scripts/mutants.sh, exFAT
#                                   (exfatprogs, exfat-fuse) for the case-folding test, Debian's
#                                   python3-fusepy for the Unicode-normalising one, and
#                                   liburing-dev for perf/write_speed's io_uring variant
#   RIPTIDE_CMAKE_ARGS  extra CMake arguments (CI passes -DRIPTIDE_WERROR=ON)
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

packages=(build-essential cmake ninja-build pkg-config libcurl4-openssl-dev libssl-dev libtbb-dev
          libxxhash-dev libexpat1-dev libsqlite3-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
          libgtest-dev zlib1g-dev libcpp-httplib-dev libyaml-cpp-dev libunistring-dev python3 curl time openssl)
if [ "${1:-}" = "--test-tools" ]; then packages+=(prometheus chromium iproute2 slurm-wlm munge strace ccache exfatprogs exfat-fuse python3-fusepy liburing-dev); fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
fi

# moto_server (the reference S3 server of the tests) and boto3 (to seed buckets).
if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c "import boto3, moto" 2>/dev/null; then
  echo "setup: installing moto[server] and boto3 with pip"
  python3 -m pip install --quiet 'moto[server]' boto3
fi

# s3rver (the fast S3 server), pinned by scripts/s3rver/package-lock.json.
if [ ! -x scripts/s3rver/node_modules/.bin/s3rver ]; then
  echo "setup: installing s3rver from the lock file"
  (cd scripts/s3rver && npm ci --no-audit --no-fund --loglevel=error)
fi

# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${RIPTIDE_CMAKE_ARGS:-} >/dev/null
cmake --build build
