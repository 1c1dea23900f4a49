#!/bin/bash
# The temporary service key of a driver file run without a service (README,
# "Services, registry and driver signing"): while the driver runs, its
# service exists (sc query: RUNNING) with Type, Start, ErrorControl and
# ImagePath, as the service control manager would have made it; after the
# run it is gone. A driver that does not read its key gets it once its
# DriverEntry returned; a load that fails before writes nothing, and removes
# a temporary key an earlier run left behind (one that ended in a bug check).
# Usage: bash test_service_key.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

STAY=$BUILD/tests/cli/cli_stay.sys
KEY='HKLM\SYSTEM\CurrentControlSet\Services\cli_stay'
run 0 bcdedit -set TESTSIGNING ON

# Running: the service and its key exist, with the values of a kernel driver.
"$KMHOST" run --for 5 "$STAY" >"$TMP/run.out" 2>&1 </dev/null &
host=$!
wait_running cli_stay
run 0 sc query cli_stay
has "$OUT" "        STATE              : 4  RUNNING"
run 0 reg query "$KEY"
has "$OUT" "ImagePath    REG_EXPAND_SZ    $STAY"
has "$OUT" "Type    REG_DWORD    0x1"
has "$OUT" "Start    REG_DWORD    0x3"
has "$OUT" "ErrorControl    REG_DWORD    0x1"
kill -TERM $host
wait $host
rc=$?
[ $rc = 0 ] || fail "kmhost run exited $rc: $(cat "$TMP/run.out")"
grep -q "stay: unloaded" "$TMP/run.out" || fail "not unloaded: $(cat "$TMP/run.out")"
# Gone after the run.
run 1 sc query cli_stay
run 1 reg query "$KEY"

# Refused (test-signed, TESTSIGNING off): nothing written.
run 0 bcdedit -set TESTSIGNING OFF
run 1 run "$STAY"
run 1 reg query "$KEY"
# A key an earlier run left (marked temporary, another image) is removed by
# the next run of that driver, even one that fails to load.
run 0 reg add "$KEY" /v KmhostTemporary /t REG_DWORD /d 1 /f
run 0 reg add "$KEY" /v ImagePath /t REG_EXPAND_SZ /d /old/cli_stay.sys /f
run 1 run "$STAY"
run 1 reg query "$KEY"
# A configured service of that name is not the run's to delete.
run 0 sc create cli_stay binPath= /elsewhere/cli_stay.sys type= kernel
run 1 run "$STAY"
run 0 reg query "$KEY"
has "$OUT" "/elsewhere/cli_stay.sys"

km_done
