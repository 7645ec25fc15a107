#!/bin/sh
# Builds mediasoup-worker offline against Debian 12 system libraries, for machines that cannot
# reach GitHub (where mediasoup's own postinstall downloads its prebuilt worker or its meson
# subprojects). Usage: build-worker.sh <mediasoup-version> <output-binary>
# Needs root for apt-get (only when a build library is missing); ~9 minutes on 2 cores.
set -eu
MS_VERSION="$1"
OUT="$2"
HERE=$(cd "$(dirname "$0")" && pwd)
PATCH="$HERE/mediasoup-$MS_VERSION-debian.patch"
[ -f "$PATCH" ] || { echo "no offline patch for mediasoup $MS_VERSION ($PATCH)" >&2; exit 3; }
WORK=$(dirname "$OUT")/build
mkdir -p "$WORK"

sh "$HERE/../ensure-debian-packages.sh" g++ pkg-config patch python3-venv libuv1-dev libssl-dev \
  libsrtp2-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler

cd "$WORK"
if [ ! -x venv/bin/meson ]; then
  python3 -m venv venv
  # pip's own configuration decides the index (a local mirror where there is one).
  ./venv/bin/pip install -q --retries 1 --timeout 20 meson==1.12.1 ninja==1.13.2
fi
PATH="$WORK/venv/bin:$PATH"; export PATH

[ -f "mediasoup-$MS_VERSION.tgz" ] || npm pack "mediasoup@$MS_VERSION" >/dev/null
rm -rf src && mkdir src && tar xzf "mediasoup-$MS_VERSION.tgz" -C src --strip-components=1
sh "$HERE/make-stubs.sh" "$WORK/src/worker"
(cd src && patch -p1 --forward < "$PATCH")

cd src/worker
meson setup --wrap-mode=nodownload --buildtype release -Db_ndebug=true build
meson compile -C build mediasoup-worker
install -m 755 build/mediasoup-worker "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cd "$WORK/.." && rm -rf "$WORK/src"
echo "built $OUT"
