#!/bin/bash
# Driver signing policy of 64-bit Windows, end to end through "kmhost run":
# unsigned refused; test-signed refused, then loaded under TESTSIGNING (with
# the test-mode line); signed by a certificate from a trusted root loaded;
# one flipped byte refused; a truncated certificate table refused cleanly;
# NOINTEGRITYCHECKS loads anything with a warning; an image accepted from
# the cache of checked images only while the file, the roots and the policy
# are as they were. Drivers are signed the way
# the README tells users to: osslsigncode with scripts/make-test-cert.sh.
# Usage: bash test_signing.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
work=$TMP

cat >"$work/drv.c" <<'C'
#include <ntddk.h>
static VOID NTAPI Unload(PDRIVER_OBJECT d) { (void)d; DbgPrint("signed driver unloaded\n"); }
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)
{
    (void)r;
    d->DriverUnload = Unload;
    DbgPrint("signed driver loaded\n");
    return STATUS_SUCCESS;
}
C
x86_64-w64-mingw32-gcc -O2 -ffreestanding -fno-stack-protector -fno-builtin -mno-red-zone \
    -I/usr/x86_64-w64-mingw32/include/ddk "$work/drv.c" -o "$work/unsigned.sys" \
    -nostdlib -nostartfiles -Wl,--subsystem,native -Wl,--entry,DriverEntry \
    -Wl,--image-base,0x140000000 -lntoskrnl -lhal -lgcc || { echo "cannot build" >&2; exit 1; }
sh "$SRC/scripts/make-test-cert.sh" "$work/certs" || { echo "make-test-cert failed" >&2; exit 1; }
sign() { # CERT OUT
    osslsigncode sign -certs "$work/certs/$1-cert.pem" -key "$work/certs/$1-key.pem" \
        -in "$work/unsigned.sys" -out "$work/$2" >/dev/null || { echo "osslsigncode failed" >&2; exit 1; }
}
sign test test.sys
sign leaf leaf.sys

# One flipped byte inside .text.
text=$(x86_64-w64-mingw32-objdump -h "$work/test.sys" | awk '$2 == ".text" { print $6 }')
cp "$work/test.sys" "$work/flipped.sys"
printf '\xcc' | dd of="$work/flipped.sys" bs=1 seek=$((0x$text + 3)) conv=notrunc status=none
cmp -s "$work/test.sys" "$work/flipped.sys" && fail "the byte was not flipped"
# The file cut in the middle of its certificate table.
size=$(stat -c %s "$work/test.sys")
head -c $((size - 200)) "$work/test.sys" >"$work/truncated.sys"

bad='STATUS_INVALID_IMAGE_HASH \(0xC0000428\)'
expect 1 "$bad" run "$work/unsigned.sys"
expect 1 'not signed' run "$work/unsigned.sys"
expect 1 'osslsigncode sign -certs' run "$work/unsigned.sys"
expect 1 'bcdedit -set TESTSIGNING ON' run "$work/unsigned.sys"

# Test-signed: refused, then loaded in test mode.
expect 1 'CN=kmhost Test Signing Certificate.*does not chain to a trusted root' \
    run "$work/test.sys"
expect 0 '' bcdedit -set TESTSIGNING ON
expect 0 '^signed driver loaded$' run "$work/test.sys"
expect 0 '^kmhost: test mode \(TESTSIGNING ON\)$' run "$work/test.sys"
expect 1 'the file was changed after signing' run "$work/flipped.sys"
expect 1 "$bad" run "$work/truncated.sys"
expect 1 'certificate table' run "$work/truncated.sys"
expect 1 'not signed' run "$work/unsigned.sys"
expect 0 '' bcdedit -set TESTSIGNING OFF
expect 1 'does not chain to a trusted root' run "$work/test.sys"

# Signed by a certificate that a trusted root issued.
expect 1 'CN=kmhost Test Driver Publisher.*does not chain' run "$work/leaf.sys"
expect 0 'command completed successfully' certutil -addstore root "$work/certs/root-cert.pem"
expect 0 '^signed driver loaded$' run "$work/leaf.sys"
out=$("$KMHOST" run "$work/leaf.sys" 2>&1)
grep -q 'test mode' <<<"$out" && fail "test mode shown without TESTSIGNING: $out"
expect 0 'Subject: CN=kmhost Test Root CA' certutil -store root
expect 1 'the file was changed after signing' run "$work/flipped.sys"
thumb=$(openssl x509 -in "$work/certs/root-cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect 0 'command completed successfully' certutil -delstore root "$thumb"
expect 1 'does not chain to a trusted root' run "$work/leaf.sys"
expect 1 'not self-signed' certutil -addstore root "$work/certs/leaf-cert.pem"
expect 1 'not an X.509 certificate' certutil -addstore root "$work/drv.c"

# No integrity checks: anything loads, and every run says so.
expect 0 '' bcdedit -set NOINTEGRITYCHECKS ON
expect 0 'WARNING: driver signature enforcement is disabled' run "$work/unsigned.sys"
expect 0 '^signed driver loaded$' run "$work/unsigned.sys"
expect 0 '' bcdedit /deletevalue NOINTEGRITYCHECKS
expect 1 'not signed' run "$work/unsigned.sys"

# The cache of checked images (src/ci/cache.c): a later run accepts the
# very bytes an earlier run checked, against the same roots, and nothing
# else; Windows' rule that an image changed after signing never loads holds
# whatever an earlier run saw, and a refusal never comes from the cache.
for f in c-test c-flip c-svc; do cp "$work/test.sys" "$work/$f.sys"; done
cp "$work/leaf.sys" "$work/c-leaf.sys"
# Other bytes, same signer: the driver built once more with -O1.
x86_64-w64-mingw32-gcc -O1 -ffreestanding -fno-stack-protector -fno-builtin -mno-red-zone \
    -I/usr/x86_64-w64-mingw32/include/ddk "$work/drv.c" -o "$work/unsigned-O1.sys" \
    -nostdlib -nostartfiles -Wl,--subsystem,native -Wl,--entry,DriverEntry \
    -Wl,--image-base,0x140000000 -lntoskrnl -lhal -lgcc || fail "cannot build at -O1"
osslsigncode sign -certs "$work/certs/test-cert.pem" -key "$work/certs/test-key.pem" \
    -in "$work/unsigned-O1.sys" -out "$work/c-new.sys" >/dev/null || fail "cannot sign at -O1"
cmp -s "$work/c-new.sys" "$work/test.sys" && fail "the -O1 build is the same file"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=kmhost Server Only" \
    -addext "extendedKeyUsage=serverAuth" -keyout "$work/server-key.pem" \
    -out "$work/server-cert.pem" 2>/dev/null || fail "cannot make the server certificate"
osslsigncode sign -certs "$work/server-cert.pem" -key "$work/server-key.pem" \
    -in "$work/unsigned.sys" -out "$work/c-server.sys" >/dev/null || fail "cannot sign with it"
expect 0 'command completed successfully' certutil -addstore root "$work/certs/root-cert.pem"
expect 0 '' bcdedit -set TESTSIGNING ON
loads() { # FILE CHECKED CACHED: FILE loads, its signature counted as given
    expect 0 "^signatures: $2 checked, $3 accepted from the cache" run --stats "$1"
    grep -q '^signed driver loaded$' <<<"$out" || fail "$1 did not load: $out"
}
loads "$work/c-test.sys" 1 0
loads "$work/c-test.sys" 0 1
loads "$work/c-leaf.sys" 1 0
loads "$work/c-leaf.sys" 0 1
# The same bytes under another name: from the cache. Then changed in place,
# size and mtime kept: refused.
loads "$work/c-flip.sys" 0 1
touch -r "$work/c-flip.sys" "$work/c-flip.time"
printf '\xcc' | dd of="$work/c-flip.sys" bs=1 seek=$((0x$text + 3)) conv=notrunc status=none
touch -r "$work/c-flip.time" "$work/c-flip.sys"
expect 1 'the file was changed after signing' run "$work/c-flip.sys"
# Refused images are refused again at the next run, not taken from the
# cache: a tampered image, and one whose certificate is not for code
# signing (even under TESTSIGNING).
expect 1 'the file was changed after signing' run "$work/flipped.sys"
expect 1 'the file was changed after signing' run "$work/flipped.sys"
expect 1 'not for code signing' run "$work/c-server.sys"
expect 1 'not for code signing' run "$work/c-server.sys"
# Loaded without a check (NOINTEGRITYCHECKS): nothing is remembered.
expect 0 '' bcdedit -set NOINTEGRITYCHECKS ON
expect 0 '^signed driver loaded$' run "$work/c-new.sys"
expect 0 '' bcdedit /deletevalue NOINTEGRITYCHECKS
# What another build of kmhost left is removed with the first entry of this
# one; this build's entries stay.
builds=("$KMHOST_HOME"/ci-cache/*/)
[ ${#builds[@]} = 1 ] && [ -d "${builds[0]}" ] || fail "not one build folder: ${builds[*]}"
mv "${builds[0]}" "$KMHOST_HOME/ci-cache/0123456789abcdef"
echo stale >"$KMHOST_HOME/ci-cache/stale-entry"
loads "$work/c-test.sys" 1 0
[ -e "$KMHOST_HOME/ci-cache/0123456789abcdef" ] && fail "another build's entries were kept"
[ -e "$KMHOST_HOME/ci-cache/stale-entry" ] && fail "a stale entry was kept"
loads "$work/c-test.sys" 0 1
loads "$work/c-leaf.sys" 1 0
loads "$work/c-new.sys" 1 0
loads "$work/c-new.sys" 0 1
# A service started by name takes its image from the cache as well.
expect 0 'SUCCESS' sc create csvc binPath= "$work/c-svc.sys" type= kernel
loads csvc 0 1
# Accepted in test mode: not from the cache once TESTSIGNING is off.
expect 0 '' bcdedit -set TESTSIGNING OFF
expect 1 'does not chain to a trusted root' run "$work/c-test.sys"
loads "$work/c-leaf.sys" 0 1
# A damaged entry is no entry.
for f in "$KMHOST_HOME"/ci-cache/*/*; do echo 'kmhost-ci damaged' >"$f"; done
loads "$work/c-leaf.sys" 1 0
# Other things in the roots folder (a folder named like a root, a file too
# large to be one) are skipped, and drivers load as before.
mkdir "$KMHOST_HOME/trusted/backup.pem"
head -c $((9 << 20)) /dev/zero >"$KMHOST_HOME/trusted/huge.crt"
loads "$work/c-leaf.sys" 0 1
rmdir "$KMHOST_HOME/trusted/backup.pem"
rm "$KMHOST_HOME/trusted/huge.crt"
# The root file rewritten with another certificate under the same name: the
# image cached as chaining to the old one is refused.
rootfile=$(find "$KMHOST_HOME/trusted" -iname "$thumb.pem")
[ -f "$rootfile" ] || fail "no $thumb.pem in the roots folder"
cp "$rootfile" "$work/root-saved.pem"
cp "$work/certs/test-cert.pem" "$rootfile"
expect 1 'does not chain to a trusted root' run "$work/c-leaf.sys"
cp "$work/root-saved.pem" "$rootfile"
loads "$work/c-leaf.sys" 1 0
# Its root removed, an image cached as chaining to it is refused; likewise a
# root whose file name starts with a dot.
expect 0 'command completed successfully' certutil -delstore root "$thumb"
expect 1 'does not chain to a trusted root' run "$work/c-leaf.sys"
cp "$work/certs/root-cert.pem" "$KMHOST_HOME/trusted/.hidden-root.pem"
loads "$work/c-leaf.sys" 1 0
loads "$work/c-leaf.sys" 0 1
rm "$KMHOST_HOME/trusted/.hidden-root.pem"
expect 1 'does not chain to a trusted root' run "$work/c-leaf.sys"

km_done
