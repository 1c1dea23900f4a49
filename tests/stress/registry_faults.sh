#!/bin/bash
# Faults of the registry store's host resources.
# 1. A read-only store: a home whose registry.db (and folder) cannot be
#    written. `kmhost reg add` must fail with exit status 1 and a message that
#    says the store is read-only and how to fix it, without crashing, and every
#    value committed before must still read back. Root ignores file modes, so
#    as root the commands on the read-only store run as the user nobody
#    (setpriv).
# 2. A full disk, simulated without a mount by a file size limit (ulimit -f,
#    RLIMIT_FSIZE): past it every write fails with EFBIG, as with ENOSPC on a
#    full file system. `kmhost reg add` of a value too big for what is left
#    must exit 1 with STATUS_DISK_FULL and a message saying so (kmhost ignores
#    SIGXFSZ, so it is not killed), the store must keep everything committed
#    before and take new writes once there is room again; `kmhost run` on a
#    read-only store loads the driver and warns that its service key cannot
#    be written, and on a full disk says why it cannot read its settings.
# Usage: bash registry_faults.sh KMHOST_BINARY [SAMPLE_DRIVER.sys]
set -u
KMHOST=$1
SAMPLE=${2:-}
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
[ -z "$SAMPLE" ] || "$KMHOST" bcdedit -set TESTSIGNING ON >/dev/null || fail "bcdedit"

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
grep -q "chmod u+w" "$TMP/err" || fail "the message does not say how to fix it: $(cat "$TMP/err")"

"${as_reader[@]}" "$KMHOST" reg query "$K" >"$TMP/q" 2>"$TMP/err" </dev/null
rc=$?
[ $rc = 0 ] || fail "reg query on a read-only store exited $rc (stderr: $(cat "$TMP/err"))"
grep -q "committed before" "$TMP/q" || fail "the committed value is lost: $(cat "$TMP/q")"
grep -q "0x7" "$TMP/q" || fail "the committed DWORD is lost: $(cat "$TMP/q")"
! grep -q "must not land" "$TMP/q" || fail "the refused value was written"

if [ -n "$SAMPLE" ] && [ -f "$SAMPLE" ]; then
    # The driver loads; its temporary service key cannot be written: a
    # warning says so, and the run still answers.
    "${as_reader[@]}" "$KMHOST" run --for 0 "$SAMPLE" >"$TMP/run" 2>&1 </dev/null
    rc=$?
    [ $rc = 0 ] || fail "kmhost run on a read-only store exited $rc: $(head -c 800 "$TMP/run")"
    grep -q "warning: cannot write the service key" "$TMP/run" ||
        fail "kmhost run on a read-only store gives no warning: $(head -c 800 "$TMP/run")"
fi

chmod u+w "$KMHOST_HOME" "$KMHOST_HOME/registry.db"
"$KMHOST" reg query "$K" /v Kept >"$TMP/q" 2>&1 || fail "reg query after restoring write access"
grep -q "committed before" "$TMP/q" || fail "the store lost the value: $(cat "$TMP/q")"

# ---- 2. a full disk ----
"$KMHOST" reg add "$K" /v Before /d "before the disk filled" /f >/dev/null ||
    fail "reg add before the disk filled"
big=$(head -c 100000 /dev/zero | tr '\0' x) # 200 KB in UTF-16: more than the limit below
# 64 KiB: the store's files may already be larger; a write past the limit fails.
(ulimit -f 64 && "$KMHOST" reg add "$K" /v Big /d "$big" /f) >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
[ $rc = 1 ] || fail "reg add on a full disk exited $rc, want 1 (stderr: $(head -c 600 "$TMP/err"))"
grep -q "STATUS_DISK_FULL" "$TMP/err" || fail "no STATUS_DISK_FULL: $(head -c 600 "$TMP/err")"
grep -q "file size limit\|disk is full" "$TMP/err" || fail "the message does not say the disk is full"
"$KMHOST" reg query "$K" >"$TMP/q" 2>&1 || fail "reg query after the full disk"
grep -q "before the disk filled" "$TMP/q" || fail "a value committed before the full disk is lost"
grep -q "committed before" "$TMP/q" || fail "an older value is lost after the full disk"
! grep -q "Big" "$TMP/q" || fail "the value that did not fit was partly written"
"$KMHOST" reg add "$K" /v After /d "room again" /f >/dev/null || fail "reg add once there is room"
"$KMHOST" reg query "$K" /v After 2>&1 | grep -q "room again" || fail "the store takes no new value"

if [ -n "$SAMPLE" ] && [ -f "$SAMPLE" ]; then
    # No room at all: not even the boot settings can be read (the store's
    # shared-memory file cannot grow), so signatures are enforced and the
    # test-signed sample is refused, with the reason.
    (ulimit -f 0 && "$KMHOST" run --for 0 "$SAMPLE") 2>&1 </dev/null | cat >"$TMP/run"
    grep -q "boot settings could not be read" "$TMP/run" ||
        fail "kmhost run on a full disk does not say the settings were unreadable: $(head -c 800 "$TMP/run")"
    grep -q "file size limit" "$TMP/run" || fail "the run's messages do not say why: $(head -c 800 "$TMP/run")"
    ! grep -q "AddressSanitizer\|runtime error\|Segmentation" "$TMP/run" || fail "kmhost crashed"
fi

[ $fails = 0 ] && echo "ok" || echo "$fails failed"
exit $((fails != 0))
