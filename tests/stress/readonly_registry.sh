#!/bin/bash
# Faults: a read-only registry store. A home whose registry.db (and folder)
# cannot be written: `kmhost reg add` must fail with exit status 1 and a
# message that says the store is read-only, without crashing, and every value
# committed before must still read back. Root ignores file modes, so as root
# the commands on the read-only store run as the user nobody (setpriv).
# A full disk is not simulated: it needs a size-limited mount (tmpfs, loop
# device), which needs privileges a CI job does not have.
# Usage: bash readonly_registry.sh KMHOST_BINARY
set -u
KMHOST=$1
[ -x "$KMHOST" ] || { echo "no kmhost binary at $KMHOST"; exit 1; }
TMP=$(mktemp -d /tmp/kmhost-ro.XXXXXX)
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
export KMHOST_HOME=$TMP/home
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
K='HKLM\SOFTWARE\KmReadOnly'

"$KMHOST" reg add "$K" /v Kept /d "committed before" /f >/dev/null || fail "the first reg add failed"
"$KMHOST" reg add "$K" /v Dw /t REG_DWORD /d 7 /f >/dev/null || fail "the second reg add failed"
[ -f "$KMHOST_HOME/registry.db" ] || { echo "FAIL: no registry.db in $KMHOST_HOME"; exit 1; }

chmod a-w "$KMHOST_HOME/registry.db" "$KMHOST_HOME"
chmod a+rx "$TMP" "$KMHOST_HOME"
chmod a+r "$KMHOST_HOME"/*
as_reader=()
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || { echo "SKIP: root without setpriv cannot make a read-only store"; exit 0; }
    as_reader=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
    chmod a+rx "$(dirname "$KMHOST")"
fi

"${as_reader[@]}" "$KMHOST" reg add "$K" /v New /d "must not land" /f >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
[ $rc = 1 ] || fail "reg add on a read-only store exited $rc, want 1 (stderr: $(cat "$TMP/err"))"
grep -qi "read-only\|readonly\|read only" "$TMP/err" "$TMP/out" ||
    fail "no message says the store is read-only: $(cat "$TMP/err" "$TMP/out")"

"${as_reader[@]}" "$KMHOST" reg query "$K" >"$TMP/q" 2>"$TMP/err" </dev/null
rc=$?
[ $rc = 0 ] || fail "reg query on a read-only store exited $rc (stderr: $(cat "$TMP/err"))"
grep -q "committed before" "$TMP/q" || fail "the committed value is lost: $(cat "$TMP/q")"
grep -q "0x7" "$TMP/q" || fail "the committed DWORD is lost: $(cat "$TMP/q")"
! grep -q "must not land" "$TMP/q" || fail "the refused value was written"

chmod u+w "$KMHOST_HOME" "$KMHOST_HOME/registry.db"
"$KMHOST" reg query "$K" /v Kept >"$TMP/q" 2>&1 || fail "reg query after restoring write access"
grep -q "committed before" "$TMP/q" || fail "the store lost the value: $(cat "$TMP/q")"

[ $fails = 0 ] && echo "ok" || echo "$fails failed"
exit $((fails != 0))
