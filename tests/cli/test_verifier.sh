#!/bin/bash
# kmhost verifier: verifier.exe's persistent setting (/standard, /flags,
# /driver, /all, /querysettings, /reset), kept in the kmhost home across
# processes and applied by later `kmhost run`s of the named drivers that give
# no --verifier of their own.
# Usage: bash test_verifier.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

# A lock-order inversion: caught only by the deadlock check, which is off by
# default (Driver Verifier's deadlock detection is opt-in too).
DRV=$BUILD/tests/verifier/bug_deadlock_order.sys
[ -f "$DRV" ] || { echo "FAIL: $DRV is missing (build the drivers target)" >&2; exit 1; }
inversion='^\*\*\* STOP: 0x000000C4 \(0x0000000000001001,'
"$KMHOST" bcdedit -set TESTSIGNING ON >/dev/null 2>&1 || fail "bcdedit -set TESTSIGNING ON"

# Nothing set: the default checks, and the run is clean.
expect 0 '^No driver is set up for verification: kmhost run checks .*irql' verifier /querysettings
absent 'deadlock' verifier /querysettings
expect 0 '' run "$DRV"
absent 'STOP|kmhost: verifying' run "$DRV"

# Usage errors: exit 2, nothing written.
expect 2 '^usage: kmhost verifier' verifier
expect 2 '^usage: kmhost verifier' verifier /flags 0x20
expect 2 'flags 0x4 have no kmhost check' verifier /flags 0x24 /driver bug_deadlock_order.sys
expect 2 'unknown|not a check|no such check|bad' verifier /flags nosuchcheck /driver x
expect 0 '^No driver is set up' verifier /querysettings

# /flags 0x20 (deadlock detection) for this driver, by image name: the
# setting persists in the home and the next run of the driver uses it.
expect 0 '^Checks locks,deadlock for bug_deadlock_order; they apply from the next kmhost run\.$' \
    verifier /flags 0x20 /driver bug_deadlock_order.sys
expect 0 '^Checks: locks,deadlock$' verifier /querysettings
expect 0 '^Verified drivers: bug_deadlock_order$' verifier /querysettings
expect 3 "$inversion" run "$DRV"
expect 3 '^kmhost: verifying bug_deadlock_order \(kmhost verifier /querysettings\)$' run "$DRV"
# --verifier on the command line overrides the persistent setting.
expect 0 '' run --verifier=default "$DRV"
absent 'STOP|kmhost: verifying' run --verifier=default "$DRV"

# Check names work as flags; another driver's setting leaves this one alone.
expect 0 '^Checks deadlock for other; ' verifier /flags deadlock /driver other.sys
expect 0 '' run "$DRV"
expect 0 '^Verified drivers: other$' verifier /querysettings

# /standard /all: every check, every driver.
expect 0 '^Checks irql,handles,objects,leaks,pending,locks,deadlock,special_pool,init_waited for every driver; ' \
    verifier /standard /all
expect 0 '^Verified drivers: \*$' verifier /querysettings
expect 3 "$inversion" run "$DRV"

# /reset: back to the defaults, in this process and the next.
expect 0 '^The verifier settings are removed' verifier /reset
expect 0 '^No driver is set up for verification' verifier /querysettings
expect 0 '' run "$DRV"
absent 'STOP|kmhost: verifying' run "$DRV"

km_done
