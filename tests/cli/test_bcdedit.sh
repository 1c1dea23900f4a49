#!/bin/bash
# kmhost bcdedit: bcdedit.exe's syntax, layout and messages; settings persist
# across processes in the kmhost home.
# Usage: bash test_bcdedit.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

ok='^The operation completed successfully\.$'

# A fresh store: the entry, and no element set (bcdedit lists present ones).
expect 0 '^identifier {14}\{current\}$' bcdedit
expect 0 '^Windows Boot Loader$' bcdedit /enum
absent '^testsigning' bcdedit /enum
absent '^nointegritychecks' bcdedit

# Set, then read back from a new process; value in column 25 as bcdedit prints.
expect 0 "$ok" bcdedit -set TESTSIGNING ON
expect 0 '^testsigning {13}Yes$' bcdedit
expect 0 '^testsigning {13}Yes$' bcdedit /enum ACTIVE
expect 0 "$ok" bcdedit /set testsigning off
expect 0 '^testsigning {13}No$' bcdedit /enum
# Switches, names and values are case-insensitive; '-' and '/' both work;
# the optional entry identifier is accepted.
expect 0 "$ok" bcdedit /SET {current} NoIntegrityChecks Yes
expect 0 '^nointegritychecks {7}Yes$' bcdedit -ENUM
expect 0 "$ok" bcdedit -set testsigning on
expect 0 '^testsigning {13}Yes$' bcdedit

# Delete: the element disappears; deleting it again is an error.
expect 0 "$ok" bcdedit /deletevalue testsigning
absent '^testsigning' bcdedit
expect 0 '^nointegritychecks {7}Yes$' bcdedit
expect 1 'Element not found' bcdedit /deletevalue testsigning
expect 0 "$ok" bcdedit /deletevalue {current} NOINTEGRITYCHECKS
absent '^nointegritychecks' bcdedit

# Errors in bcdedit's words, exit 2.
expect 2 '^The set command specified is not valid\.$' bcdedit -set bogus on
expect 2 'bcdedit /\?' bcdedit -set bogus on
expect 2 'not valid' bcdedit -set testsigning maybe
expect 2 '^The set command specified is not valid\.$' bcdedit -set testsigning
expect 2 '^The parameter is incorrect\.$' bcdedit /frobnicate
expect 2 'entry identifier' bcdedit /set {bootmgr} testsigning on
expect 2 'not valid' bcdedit /deletevalue bogus
# Nothing above changed the store.
absent '^testsigning' bcdedit
expect 0 'testsigning' bcdedit '/?'

km_done
