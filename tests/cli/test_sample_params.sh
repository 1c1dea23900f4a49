#!/bin/bash
# The sample reads its service's Parameters\ThreadCount (REG_DWORD, 1..64,
# default 4) with RtlQueryRegistryValues, as a Windows driver reads its
# configuration: install it as a demand-start service, set the value with
# reg.exe's syntax, run the service by name and count the workers. A value of
# the wrong type or out of range falls back to the default.
# Usage: bash test_sample_params.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"
SYS=$BUILD/drivers/kthreads.sys
[ -f "$SYS" ] || { echo "no sample driver at $SYS (build the drivers target)"; exit 1; }

# workers N: the last run started exactly N workers, each stopped cleanly.
workers() {
    local started stopped
    started=$(grep -c '^kthreads: worker [0-9]* started' <<<"$OUT")
    stopped=$(grep -c '^kthreads: worker [0-9]* did [0-9]* units' <<<"$OUT")
    [ "$started" = "$1" ] || fail "$2: $started workers started, want $1; out: $OUT; stderr: $ERR"
    [ "$stopped" = "$1" ] || fail "$2: $stopped workers stopped, want $1; out: $OUT"
    grep -q '^kthreads: unloaded$' <<<"$OUT" || fail "$2: no clean unload; out: $OUT"
}
PARAMS='HKLM\SYSTEM\CurrentControlSet\Services\kthreads\Parameters'

# The sample is unsigned (make run signs it); this home skips the check.
run 0 bcdedit -set NOINTEGRITYCHECKS ON
run 0 sc create kthreads binPath= "$SYS" type= kernel start= demand

run 0 run --for 1 kthreads
workers 4 "no Parameters key"

run 0 reg add "$PARAMS" /v ThreadCount /t REG_DWORD /d 2 /f
run 0 run --for 1 kthreads
workers 2 "ThreadCount 2"

run 0 reg add "$PARAMS" /v ThreadCount /t REG_DWORD /d 64 /f
run 0 run kthreads
workers 64 "ThreadCount 64 (the maximum)"

run 0 reg add "$PARAMS" /v ThreadCount /t REG_DWORD /d 65 /f
run 0 run kthreads
workers 4 "ThreadCount 65 (out of range)"
grep -q 'ThreadCount 65 is outside 1..64' <<<"$OUT" || fail "no out-of-range message: $OUT"

run 0 reg add "$PARAMS" /v ThreadCount /t REG_DWORD /d 0 /f
run 0 run kthreads
workers 4 "ThreadCount 0 (out of range)"

# TYPECHECK: a REG_SZ "2" is refused, not read as a number.
run 0 reg add "$PARAMS" /v ThreadCount /t REG_SZ /d 2 /f
run 0 run kthreads
workers 4 "ThreadCount of type REG_SZ"
grep -q 'unreadable (0xC0000024)' <<<"$OUT" ||
    fail "a REG_SZ ThreadCount must fail with STATUS_OBJECT_TYPE_MISMATCH: $OUT"

km_done
