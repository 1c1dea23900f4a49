# Shared harness of the tests/cli/test_*.sh scripts, sourced by each as
#   . "$(dirname "$0")/lib.sh"
# with the script's own arguments: KMHOST_BINARY BUILD_DIR (as CTest passes
# them). Every script gets a private, empty kmhost home under $TMP, removed on
# exit, so no test sees another's registry or settings.
set -u
KM_TEST=$(basename "$0" .sh)
KMHOST=${1:?usage: $KM_TEST.sh KMHOST_BINARY BUILD_DIR}
BUILD=${2:?usage: $KM_TEST.sh KMHOST_BINARY BUILD_DIR}
[ -x "$KMHOST" ] || { echo "no kmhost binary at $KMHOST" >&2; exit 1; }
TMP=$(mktemp -d "$BUILD/$KM_TEST.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
export KMHOST_HOME=$TMP/home
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run STATUS ARGS...: runs kmhost ARGS (stdin empty), wants exit STATUS; keeps
# stdout in $OUT and stderr in $ERR.
run() {
    local want=$1
    shift
    OUT=$(timeout 60 "$KMHOST" "$@" 2>"$TMP/err" </dev/null)
    local rc=$?
    ERR=$(cat "$TMP/err")
    [ "$rc" = "$want" ] || fail "kmhost $* exited $rc, want $want; out: $OUT; stderr: $ERR"
}

# has TEXT STRING / hasnot TEXT STRING: STRING is (not) a substring of TEXT.
has() { grep -qF -- "$2" <<<"$1" || fail "expected \"$2\" in: $1"; }
hasnot() { ! grep -qF -- "$2" <<<"$1" || fail "did not expect \"$2\" in: $1"; }

# expect STATUS REGEX ARGS...: runs kmhost ARGS, wants exit STATUS and a line
# of stdout+stderr (kept in $out) matching REGEX ("" for no match wanted).
expect() {
    local want=$1 regex=$2
    shift 2
    out=$(timeout 60 "$KMHOST" "$@" 2>&1 </dev/null)
    local rc=$?
    [ "$rc" = "$want" ] || fail "kmhost $*: exit $rc, want $want; output: $out"
    if [ -n "$regex" ] && ! grep -Eq -- "$regex" <<<"$out"; then
        fail "kmhost $*: no line matching /$regex/ in: $out"
    fi
}

# absent REGEX ARGS...: no line of kmhost ARGS' stdout+stderr matches REGEX.
absent() {
    local regex=$1
    shift
    out=$(timeout 60 "$KMHOST" "$@" 2>&1 </dev/null)
    if grep -Eq -- "$regex" <<<"$out"; then
        fail "kmhost $*: unexpected line matching /$regex/ in: $out"
    fi
}

# wait_running SERVICE: waits up to 30 s for kmhost sc query SERVICE to say
# RUNNING (a kmhost started in the background loading it).
wait_running() {
    for _ in $(seq 300); do
        "$KMHOST" sc query "$1" 2>/dev/null | grep -q RUNNING && return 0
        sleep 0.1
    done
    return 1
}

# km_done: the script's verdict and exit status.
km_done() {
    if [ "$failures" -ne 0 ]; then
        echo "$KM_TEST: $failures failure(s)" >&2
        exit 1
    fi
    echo "$KM_TEST: all passed"
    exit 0
}
