#!/bin/bash
# Stopping kmhost run with SIGTERM (README, "Running a driver"): during the
# --for wait it ends the wait, the driver is unloaded and kmhost exits 0;
# while a DriverEntry has not returned, the first signal says so and kmhost
# keeps running (a driver is unloaded only once its DriverEntry returned), a
# second ends kmhost by that signal (exit status 128 + 15). SIGINT does the
# same, unless kmhost was started with it ignored, as a script's background
# job is: then it stays ignored, so this uses SIGTERM.
# Usage: bash test_interrupt.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

STAY=$BUILD/tests/cli/cli_stay.sys
HANG=$BUILD/tests/cli/cli_hang_entry.sys
run 0 bcdedit -set TESTSIGNING ON

# wait_for FILE TEXT: up to 20 s for TEXT to appear in FILE.
wait_for() {
    for _ in $(seq 200); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stopped PID: up to 20 s for PID to end; kills it (and fails) if it does not.
stopped() {
    for _ in $(seq 200); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1"
    fail "kmhost did not end"
}

"$KMHOST" run --for 60 "$STAY" >"$TMP/stay" 2>&1 </dev/null &
pid=$!
wait_for "$TMP/stay" "stay: loaded" || fail "the driver did not load: $(cat "$TMP/stay")"
kill -TERM $pid
stopped $pid
wait $pid
rc=$?
[ "$rc" = 0 ] || fail "SIGTERM during --for: exit $rc, want 0: $(cat "$TMP/stay")"
has "$(cat "$TMP/stay")" "kmhost: SIGTERM received: unloading"
has "$(cat "$TMP/stay")" "stay: unloaded"
hasnot "$(cat "$TMP/stay")" "while unloading" # the one signal ended the wait, nothing more

"$KMHOST" run "$HANG" >"$TMP/hang" 2>&1 </dev/null &
pid=$!
wait_for "$TMP/hang" "hang_entry: waiting" || fail "hang_entry did not start: $(cat "$TMP/hang")"
kill -TERM $pid
wait_for "$TMP/hang" "DriverEntry has not returned" ||
    fail "no word after the first SIGTERM: $(cat "$TMP/hang")"
kill -0 $pid 2>/dev/null || fail "kmhost ended at the first SIGTERM"
kill -TERM $pid
stopped $pid
wait $pid
rc=$?
[ "$rc" = 143 ] || fail "second SIGTERM: exit $rc, want 143 (128 + SIGTERM)"
has "$(cat "$TMP/hang")" "ending without unloading cli_hang_entry"
# Loading in boot order (system start before auto start): a stop while the
# first DriverEntry runs lets it return, starts no more drivers, and unloads
# the one loaded.
SLOW=$BUILD/tests/cli/cli_slow_entry.sys
run 0 sc create kmslow binPath= "$SLOW" type= kernel start= system
run 0 sc create kmstay binPath= "$STAY" type= kernel start= auto
"$KMHOST" run --for 60 >"$TMP/boot" 2>&1 </dev/null &
pid=$!
wait_for "$TMP/boot" "slow_entry: loading" || fail "kmslow did not start: $(cat "$TMP/boot")"
kill -TERM $pid
stopped $pid
wait $pid
rc=$?
[ "$rc" = 0 ] || fail "SIGTERM while loading: exit $rc, want 0: $(cat "$TMP/boot")"
has "$(cat "$TMP/boot")" "DriverEntry has not returned"
has "$(cat "$TMP/boot")" "1 driver not started, from kmstay on"
has "$(cat "$TMP/boot")" "slow_entry: unloaded"
hasnot "$(cat "$TMP/boot")" "stay: loaded"
km_done
