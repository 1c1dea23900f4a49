#!/usr/bin/env bash
# make run: the lecture's exercise end to end. Runs the kthreads sample for 3
# seconds with a kmhost home inside the build directory.
set -euo pipefail
build=${1:-build}
export KMHOST_HOME="$(cd "$build" && pwd)/home"
mkdir -p "$KMHOST_HOME"
kmhost="$build/kmhost"
sys="$build/drivers/kthreads.sys"
echo "+ kmhost run --for 3 $sys"
"$kmhost" run --for 3 "$sys"
