#!/usr/bin/env bash
# Installs what kmhost needs to build and test, on Debian 12, when it is missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail
pkgs=(cmake make gcc pkg-config gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev binutils-mingw-w64-x86-64
      libzydis-dev libsqlite3-dev libssl-dev openssl osslsigncode clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
