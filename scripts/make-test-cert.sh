#!/bin/sh
# Makes the certificates kmhost's driver-signing step uses, into DIR
# (default: ./certs). Idempotent: existing, readable files are kept.
#
#   test-cert.pem test-key.pem   a self-signed code-signing test certificate,
#                                like the one makecert or New-SelfSignedCertificate
#                                makes on Windows; drivers signed with it load
#                                under "kmhost bcdedit -set TESTSIGNING ON".
#   root-cert.pem root-key.pem   a test root CA, to trust with
#                                "kmhost certutil -addstore root root-cert.pem".
#   leaf-cert.pem leaf-key.pem   a code-signing certificate issued by that root.
#
# Sign a driver:  osslsigncode sign -certs DIR/test-cert.pem -key DIR/test-key.pem \
#                   -in x.sys -out x-signed.sys
set -eu

dir=${1:-certs}
days=3650
mkdir -p "$dir"
cd "$dir"

valid() { # cert key: both exist and the key matches the certificate
    [ -s "$1" ] && [ -s "$2" ] || return 1
    a=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null) || return 1
    b=$(openssl pkey -in "$2" -pubout 2>/dev/null) || return 1
    [ "$a" = "$b" ]
}

# Parallel test runs share DIR: one of them makes the files, the others wait.
exec 9>.make-test-cert.lock
if command -v flock >/dev/null 2>&1; then flock 9; fi

tmp=$(mktemp -d .tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! valid test-cert.pem test-key.pem; then
    openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -sha256 \
        -subj "/CN=kmhost Test Signing Certificate" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=codeSigning" \
        -keyout "$tmp/test-key.pem" -out "$tmp/test-cert.pem" 2>/dev/null
    mv "$tmp/test-key.pem" test-key.pem
    mv "$tmp/test-cert.pem" test-cert.pem
fi

if ! valid root-cert.pem root-key.pem; then
    openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -sha256 \
        -subj "/CN=kmhost Test Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$tmp/root-key.pem" -out "$tmp/root-cert.pem" 2>/dev/null
    mv "$tmp/root-key.pem" root-key.pem
    mv "$tmp/root-cert.pem" root-cert.pem
    rm -f leaf-cert.pem # a new root invalidates the old leaf
fi

if ! valid leaf-cert.pem leaf-key.pem ||
    ! openssl verify -CAfile root-cert.pem leaf-cert.pem >/dev/null 2>&1; then
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=kmhost Test Driver Publisher" \
        -keyout "$tmp/leaf-key.pem" -out "$tmp/leaf.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=codeSigning" >"$tmp/leaf.ext"
    openssl x509 -req -in "$tmp/leaf.csr" -CA root-cert.pem -CAkey root-key.pem \
        -set_serial "0x$(openssl rand -hex 8)" -days "$days" -sha256 \
        -extfile "$tmp/leaf.ext" -out "$tmp/leaf-cert.pem" 2>/dev/null
    mv "$tmp/leaf-key.pem" leaf-key.pem
    mv "$tmp/leaf-cert.pem" leaf-cert.pem
fi
