#!/bin/bash
# Builds the libFuzzer harnesses (fuzz/) with clang and runs each one for
# SECONDS (default 60), one after another, on seed corpora generated here
# from what the project builds. Prints executions and the result per harness.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      (HARNESS: ldr ci regfile insn patch format)
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_WORK (corpora and
# crashes, default $FUZZ_BUILD/work), FUZZ_SYS_DIR (a folder of .sys files to
# seed from; default: the build*/ folders of the repository).
# A crash leaves crash-* in $FUZZ_WORK/<harness>/ and makes the exit status 1;
# turn each one into a tests/unit/test_regress_*.c with the bytes inline.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-60}
shift || true
HARNESSES=${*:-ldr ci regfile insn patch format}
BUILD=${FUZZ_BUILD:-build-fuzz}
WORK=${FUZZ_WORK:-$BUILD/work}

command -v clang >/dev/null || { echo "fuzz.sh: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
cmake -S fuzz -B "$BUILD" -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$BUILD" -j2 >/dev/null

# ---- seed corpora ----
mkdir -p "$WORK"
sysfiles=()
if [ -n "${FUZZ_SYS_DIR:-}" ]; then
    while IFS= read -r f; do sysfiles+=("$f"); done < <(find "$FUZZ_SYS_DIR" -name '*.sys' | head -64)
else
    while IFS= read -r f; do sysfiles+=("$f"); done < <(find build* -name '*.sys' -size -600k 2>/dev/null | grep -v "^$BUILD/" | sort | awk -F/ '!seen[$NF]++' | head -64)
fi
seed() { mkdir -p "$WORK/$1/seeds" "$WORK/$1/corpus"; }
for h in ldr ci regfile insn patch format; do seed $h; done
for f in "${sysfiles[@]}"; do
    b=$(basename "$f" .sys)
    cp "$f" "$WORK/ldr/seeds/$b.sys"
    cp "$f" "$WORK/ci/seeds/$b.sys"
    # The patcher's input: 0 function starts, then the .text section.
    if x86_64-w64-mingw32-objcopy -O binary --only-section=.text "$f" "$WORK/patch/seeds/$b.text" 2>/dev/null; then
        { printf '\0'; head -c 16000 "$WORK/patch/seeds/$b.text"; } > "$WORK/patch/seeds/$b.bin"
    fi
    rm -f "$WORK/patch/seeds/$b.text"
done
cp fuzz/seeds/regfile/* "$WORK/regfile/seeds/"
# A UTF-16LE export, as regedit writes it.
iconv -f UTF-8 -t UTF-16LE fuzz/seeds/regfile/basic.reg | { printf '\xff\xfe'; cat; } > "$WORK/regfile/seeds/utf16.reg"
cp fuzz/seeds/format/* "$WORK/format/seeds/"
printf '\x01\x20' > "$WORK/format/seeds/wide.txt"
printf '%%ws %%wZ %%s %%-8.3S %%C\n' | iconv -f UTF-8 -t UTF-16LE >> "$WORK/format/seeds/wide.txt"
# Instructions: mode byte, 16 bytes of offset/pattern, then the code.
insn() { { printf "\\x$1"; printf '\x10\x00\x00\x00\x00\x00\x00\x00\x33\x33\x33\x33\x33\x33\x33\x33'; printf "$2"; } > "$WORK/insn/seeds/$3"; }
insn 02 '\x44\x0f\x20\xc0' cr8_read
insn 02 '\x44\x0f\x22\xc1' cr8_write
insn 00 '\x48\xa1\x08\x00\x78\xf7\xff\xff\x00\x00' moffs
insn 00 '\x8b\x41\x14' mov_disp
insn 00 '\x0f\xb6\x84\x11\x30\x02\x00\x00' movzx_sib
insn 00 '\x48\x3b\x41\x08' cmp
insn 01 '\xf3\x0f\x6f\x40\x08' movdqu
insn 00 '\x89\x41\x14' store

status=0
printf '%-8s %12s %10s  %s\n' harness executions exec/s result
for h in $HARNESSES; do
    d="$WORK/$h"
    log="$d/fuzz.log"
    set +e
    (cd "$d" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$OLDPWD/$BUILD/fuzz_$h" -max_total_time="$SECONDS_PER" -max_len=65536 -timeout=20 \
        -rss_limit_mb=4096 -print_final_stats=1 corpus seeds) >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    crashes=$(ls "$d" | grep -E '^(crash|leak|timeout|oom)-' || true)
    if [ $rc -eq 0 ] && [ -z "$crashes" ]; then
        result="ok, no crash ($(ls "$d/corpus" | wc -l) corpus inputs)"
    else
        result="FAILED (exit $rc): $(echo $crashes) - see $log"
        status=1
    fi
    printf '%-8s %12s %10s  %s\n' "$h" "${execs:-0}" "${speed:-0}" "$result"
done
exit $status
