#!/usr/bin/env bash
# Builds oneTBB from Debian's source package with -fsanitize=thread, once, and prints the
# install prefix for CMAKE_PREFIX_PATH. ThreadSanitizer needs the library instrumented
# too: without it every hand-off between flow-graph tasks looks like a race.
#   RIPTIDE_CACHE  where built things are kept between runs (default ~/.cache/riptide)
set -euo pipefail
cache="${RIPTIDE_CACHE:-$HOME/.cache/riptide}"
version="$(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null || true)"
[ -n "$version" ] || { echo "tsan-onetbb: libtbb-dev is not installed (run scripts/setup.sh)" >&2; exit 1; }
prefix="$cache/onetbb-tsan-$version"
if [ -f "$prefix/.built" ]; then
  echo "$prefix"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
# Debian's source archive, beside the binary one the machine already uses.
if ! apt-get source --print-uris -qq onetbb >/dev/null 2>&1; then
  echo "tsan-onetbb: adding a deb-src entry for bookworm main" >&2
  "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/riptide-src.sources >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  "${sudo_cmd[@]}" apt-get update -qq -o DPkg::Lock::Timeout=300 >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "tsan-onetbb: building oneTBB $version with -fsanitize=thread into $prefix" >&2
(cd "$work" && apt-get source -qq "onetbb=$version" >&2 2>/dev/null || apt-get source -qq onetbb >&2)
src="$(find "$work" -maxdepth 1 -type d -name 'onetbb-*' | head -1)"
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBB_SANITIZE=thread \
  -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >&2
cmake --build "$work/build" >&2
cmake --install "$work/build" >&2
touch "$prefix/.built"
echo "$prefix"
