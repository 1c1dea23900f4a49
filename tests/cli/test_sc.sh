#!/bin/bash
# kmhost sc, end to end: sc.exe's syntax ("option= value"), the service key
# values Windows uses (Type, Start, ErrorControl, ImagePath, DisplayName...),
# sc.exe's output layout and Win32 error numbers, kmhost's exit statuses
# (0 success, 1 failure, 2 bad syntax), and start / stop of a service.
# Usage: bash test_sc.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

SVC='HKLM\SYSTEM\CurrentControlSet\Services'

cd "$TMP" && touch drv.sys
run 0 sc create kmtest binPath= drv.sys type= kernel start= demand error= normal DisplayName= "Km Test"
has "$OUT" "[SC] CreateService SUCCESS"
run 0 reg query "$SVC\kmtest"
has "$OUT" "    Type    REG_DWORD    0x1"
has "$OUT" "    Start    REG_DWORD    0x3"
has "$OUT" "    ErrorControl    REG_DWORD    0x1"
has "$OUT" "    ImagePath    REG_EXPAND_SZ    $TMP/drv.sys"
has "$OUT" "    DisplayName    REG_SZ    Km Test"

run 1 sc create KMTEST binPath= drv.sys
has "$OUT" "[SC] CreateService FAILED 1073:"
has "$OUT" "The specified service already exists."

run 0 sc qc kmtest
has "$OUT" "[SC] QueryServiceConfig SUCCESS"
has "$OUT" "SERVICE_NAME: kmtest"
has "$OUT" "        TYPE               : 1  KERNEL_DRIVER"
has "$OUT" "        START_TYPE         : 3   DEMAND_START"
has "$OUT" "        ERROR_CONTROL      : 1   NORMAL"
has "$OUT" "        BINARY_PATH_NAME   : $TMP/drv.sys"
has "$OUT" "        DISPLAY_NAME       : Km Test"

run 0 sc config kmtest start= auto error= critical type= filesys group= "Boot Bus Extender" depend= a/b
has "$OUT" "[SC] ChangeServiceConfig SUCCESS"
run 0 sc qc kmtest
has "$OUT" "        TYPE               : 2  FILE_SYSTEM_DRIVER"
has "$OUT" "        START_TYPE         : 2   AUTO_START"
has "$OUT" "        ERROR_CONTROL      : 3   CRITICAL"
has "$OUT" "        LOAD_ORDER_GROUP   : Boot Bus Extender"
run 0 reg query "$SVC\kmtest" /v DependOnService
has "$OUT" "REG_MULTI_SZ    a\\0b"
for s in boot:0 system:1 auto:2 demand:3 disabled:4; do
    run 0 sc config kmtest start= "${s%%:*}"
    run 0 reg query "$SVC\kmtest" /v Start
    has "$OUT" "REG_DWORD    0x${s##*:}"
done
run 0 sc config kmtest type= kernel start= demand error= normal

run 0 sc query kmtest
has "$OUT" "        STATE              : 1  STOPPED"

run 1 sc qc nosuch
has "$OUT" "[SC] OpenService FAILED 1060:"
has "$OUT" "The specified service does not exist as an installed service."
run 1 sc query nosuch
run 1 sc delete nosuch
run 1 sc stop kmtest
has "$OUT" "[SC] ControlService FAILED 1062:"
run 1 sc create bad binPath= drv.sys start= sometimes
has "$OUT" "FAILED 87"
run 1 sc create bad binPath= drv.sys type= own
run 2 sc create bad
run 2 sc create bad binPath=
run 2 sc create bad binPath drv.sys
run 2 sc frobnicate kmtest
run 2 sc

# start with parameters read from the service's Parameters key
run 0 reg add "$SVC\kmtest\Parameters" /v Threads /t REG_DWORD /d 3 /f
run 0 sc config kmtest start= disabled
run 1 sc start kmtest
has "$OUT" "[SC] StartService FAILED 1058:"
run 0 sc config kmtest start= demand
DRIVER=$(ls "$BUILD"/drivers/kthreads/*.sys "$BUILD"/drivers/*.sys 2>/dev/null | head -n1)
if [ -n "$DRIVER" ]; then
    run 0 sc config kmtest binPath= "$DRIVER"
    # The sample is built unsigned; this test is about the service manager.
    run 0 bcdedit -set NOINTEGRITYCHECKS ON
    "$KMHOST" sc start kmtest --for 30 >"$TMP/run.out" 2>&1 &
    host=$!
    wait_running kmtest
    run 0 sc query kmtest
    has "$OUT" "        STATE              : 4  RUNNING"
    run 1 sc start kmtest
    has "$OUT" "[SC] StartService FAILED 1056:"
    run 0 sc stop kmtest
    wait $host
    run 0 sc query kmtest
    has "$OUT" "        STATE              : 1  STOPPED"
else
    echo "note: no driver built in $BUILD/drivers: start/stop of a running service not tested"
fi

run 0 sc delete kmtest
has "$OUT" "[SC] DeleteService SUCCESS"
run 1 reg query "$SVC\kmtest"
run 1 sc qc kmtest

km_done
