#!/usr/bin/env bash
# Build wrk with one patch: WRK_RAW_LATENCY=1 skips stats_correct(), the coordinated-omission
# "correction" that stock wrk applies to the latency histogram before printing it and before
# the Lua done() hook sees it (it adds synthetic samples and inflates the tails of the fastest
# targets). Everything else is stock wrk (https://github.com/wg/wrk).
# Adapted from the project's shared benchmark references (shared/bench/build_wrk_raw.sh): the
# source comes from Debian's wrk source package through a private deb-src list (the machine's apt
# configuration is not changed) and is unpacked with tar, so dpkg-dev is not needed.
#   bench/build_wrk_raw.sh OUT_BINARY [WRK_SOURCE_DIR]
set -euo pipefail
OUT=$(realpath -m "${1:?usage: build_wrk_raw.sh OUT_BINARY [WRK_SOURCE_DIR]}")
SRC=${2:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [[ -z "$SRC" ]]; then
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" > "$WORK/src.list"
  mkdir -p "$WORK/lists/partial" "$WORK/dl"
  APT=(-o "Dir::Etc::SourceList=$WORK/src.list" -o "Dir::Etc::SourceParts=$WORK/none" -o "Dir::State::Lists=$WORK/lists")
  apt-get "${APT[@]}" update >/dev/null
  (cd "$WORK/dl" && apt-get "${APT[@]}" source --download-only wrk >/dev/null)
  tar -xzf "$WORK"/dl/wrk_*.orig.tar.gz -C "$WORK"
  SRC=$(ls -d "$WORK"/wrk-*/ | head -1)
fi
apt-get install -y libluajit-5.1-dev luajit libssl-dev make gcc >/dev/null
cp -r "$SRC" "$WORK/src-copy" && cd "$WORK/src-copy"
grep -q 'WRK_RAW_LATENCY' src/wrk.c || \
  sed -i 's|    if (complete / cfg.connections > 0) {|    if (complete / cfg.connections > 0 \&\& !getenv("WRK_RAW_LATENCY")) {|' src/wrk.c
grep -q 'WRK_RAW_LATENCY' src/wrk.c || { echo "patch did not apply" >&2; exit 1; }
C_INCLUDE_PATH=/usr/include/luajit-2.1 make -j2 WITH_LUAJIT=/usr WITH_OPENSSL=/usr VER=4.x-rawlat >/dev/null
mkdir -p "$(dirname "$OUT")" && cp wrk "$OUT"
echo "built $OUT ($("$OUT" -v 2>&1 | head -1))"
