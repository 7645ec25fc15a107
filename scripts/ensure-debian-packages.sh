#!/bin/sh
# Installs the named Debian packages that are missing. Prints a plain message and fails when
# they are missing and cannot be installed here (not root, or no apt-get).
set -eu
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "OnAir needs these system packages:$missing. This system has no apt-get; install them with your package manager." >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "OnAir needs these Debian packages:$missing. Run as root: apt-get install -y$missing" >&2
  exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -q
apt-get install -y -q --no-install-recommends $missing >/dev/null || {
  apt-get update -q && apt-get install -y -q --no-install-recommends $missing >/dev/null
}
