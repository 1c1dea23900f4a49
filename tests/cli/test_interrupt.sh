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

# started OUT TEXT ARGS...: starts kmhost ARGS in the background, output to
# OUT; PID is its pid; fails unless TEXT appears in OUT within 20 s.
started() {
    local out=$1 text=$2
    shift 2
    "$KMHOST" "$@" >"$out" 2>&1 </dev/null &
    PID=$!
    wait_for "$out" "$text" || fail "kmhost $*: no \"$text\" in: $(cat "$out")"
}

# terminated PID: sends SIGTERM, waits up to 20 s for PID to end (kills it,
# and fails, if it does not); RC is its exit status.
terminated() {
    kill -TERM "$1"
    for _ in $(seq 200); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1"
        fail "kmhost did not end"
    fi
    wait "$1"
    RC=$?
}

started "$TMP/stay" "stay: loaded" run --for 60 "$STAY"
terminated $PID
[ "$RC" = 0 ] || fail "SIGTERM during --for: exit $RC, want 0: $(cat "$TMP/stay")"
has "$(cat "$TMP/stay")" "kmhost: SIGTERM received: unloading"
has "$(cat "$TMP/stay")" "stay: unloaded"
hasnot "$(cat "$TMP/stay")" "while unloading" # the one signal ended the wait, nothing more

started "$TMP/hang" "hang_entry: waiting" run "$HANG"
kill -TERM $PID
wait_for "$TMP/hang" "DriverEntry has not returned" ||
    fail "no word after the first SIGTERM: $(cat "$TMP/hang")"
kill -0 $PID 2>/dev/null || fail "kmhost ended at the first SIGTERM"
terminated $PID
[ "$RC" = 143 ] || fail "second SIGTERM: exit $RC, want 143 (128 + SIGTERM)"
has "$(cat "$TMP/hang")" "ending without unloading cli_hang_entry"

# Loading in boot order (system start before auto start): a stop while the
# first DriverEntry runs lets it return, starts no more drivers, and unloads
# the one loaded.
SLOW=$BUILD/tests/cli/cli_slow_entry.sys
run 0 sc create kmslow binPath= "$SLOW" type= kernel start= system
run 0 sc create kmstay binPath= "$STAY" type= kernel start= auto
started "$TMP/boot" "slow_entry: loading" run --for 60
terminated $PID
[ "$RC" = 0 ] || fail "SIGTERM while loading: exit $RC, want 0: $(cat "$TMP/boot")"
has "$(cat "$TMP/boot")" "DriverEntry has not returned"
has "$(cat "$TMP/boot")" "1 driver not started, from kmstay on"
has "$(cat "$TMP/boot")" "slow_entry: unloaded"
hasnot "$(cat "$TMP/boot")" "stay: loaded"
km_done
