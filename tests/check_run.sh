#!/usr/bin/env bash
# check_run.sh EXIT [--match REGEX]... [--nomatch REGEX]... -- COMMAND...
# Runs COMMAND, prints its output, and fails unless it exits with EXIT and
# every --match regex matches a line of its output and no --nomatch does.
set -u
want=$1; shift
match=(); nomatch=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --match) match+=("$2"); shift 2 ;;
    --nomatch) nomatch+=("$2"); shift 2 ;;
    *) echo "check_run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
shift
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$@" >"$out" 2>&1
got=$?
cat "$out"
fail=0
if [ "$got" != "$want" ]; then
  echo "check_run: exit status $got, expected $want"; fail=1
fi
for m in "${match[@]+"${match[@]}"}"; do
  grep -Eq -- "$m" "$out" || { echo "check_run: no output line matches: $m"; fail=1; }
done
for m in "${nomatch[@]+"${nomatch[@]}"}"; do
  if grep -Eq -- "$m" "$out"; then echo "check_run: an output line matches: $m"; fail=1; fi
done
exit $fail
