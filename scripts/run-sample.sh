#!/usr/bin/env bash
# make run: the lecture's exercise end to end, with the signing step of a
# Windows test machine. The kmhost home (registry, settings) is
# BUILD/home, so nothing outside the build directory changes.
set -euo pipefail
build=${1:-build}
build=$(cd "$build" && pwd)
export KMHOST_HOME="$build/home"
mkdir -p "$KMHOST_HOME"
kmhost="$build/kmhost"
certs="$build/certs"
sys="$build/drivers/kthreads.sys"
signed="$build/drivers/kthreads-signed.sys"

step() { echo "+ $*" >&2; "$@"; }
# 1. A test certificate, and the driver signed with it (signtool on Windows).
step sh scripts/make-test-cert.sh "$certs" >/dev/null
step osslsigncode sign -h sha256 -certs "$certs/test-cert.pem" -key "$certs/test-key.pem" \
    -in "$sys" -out "$signed.tmp" >/dev/null
mv -f "$signed.tmp" "$signed"
# 2. Test signing on: Windows then loads drivers signed by any certificate.
step "$kmhost" bcdedit -set TESTSIGNING ON
# 3. Load, run for 3 seconds, unload.
step "$kmhost" run --for 3 "$signed"
