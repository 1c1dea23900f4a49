#!/bin/bash
# kmhost reg, end to end: reg.exe's syntax, output layout and exit codes
# (0 success, 1 failure; kmhost's 2 for bad syntax), and a .reg export /
# import / export round trip of every value type, compared byte for byte.
# Usage: bash test_reg.sh KMHOST_BINARY BUILD_DIR
. "$(dirname "$0")/lib.sh"

K='HKLM\SOFTWARE\KmTest'
run 0 reg add "$K" /v Str /d "hello world" /f
has "$OUT" "The operation completed successfully."
run 0 reg add "$K" /v Dw /t REG_DWORD /d 10 /f
run 0 reg add "$K" /v Hex /t reg_dword /d 0xFFFFFFFF /f
run 0 reg add "$K" /v Qw /t REG_QWORD /d 0x123456789A /f
run 0 reg add "$K" /v Multi /t REG_MULTI_SZ /d 'one\0two\0three' /f
run 0 reg add "$K" /v Sep /t REG_MULTI_SZ /s '#' /d 'x#y' /f
run 0 reg add "$K" /v Exp /t REG_EXPAND_SZ /d '%SystemRoot%\x' /f
run 0 reg add "$K" /v Bin /t REG_BINARY /d 00ff10 /f
run 0 reg add "$K" /v Nothing /t REG_NONE /f
run 0 reg add "$K" /ve /d dflt /f
run 0 reg add "$K\Sub\Deeper" -v Inner -d "in" -f

run 0 reg query "$K"
has "$OUT" "HKEY_LOCAL_MACHINE\\SOFTWARE\\KmTest"
has "$OUT" "    Str    REG_SZ    hello world"
has "$OUT" "    Dw    REG_DWORD    0xa"
has "$OUT" "    Hex    REG_DWORD    0xffffffff"
has "$OUT" "    Qw    REG_QWORD    0x123456789a"
has "$OUT" "    Multi    REG_MULTI_SZ    one\\0two\\0three"
has "$OUT" "    Sep    REG_MULTI_SZ    x\\0y"
has "$OUT" "    Exp    REG_EXPAND_SZ    %SystemRoot%\\x"
has "$OUT" "    Bin    REG_BINARY    00FF10"
has "$OUT" "    (Default)    REG_SZ    dflt"
has "$OUT" "HKEY_LOCAL_MACHINE\\SOFTWARE\\KmTest\\Sub"
hasnot "$OUT" "Inner"
# case-insensitive key and value names; values keep their creation order
run 0 reg query 'hkey_local_machine\software\kmtest' /v STR
has "$OUT" "    Str    REG_SZ    hello world"
first=$(grep -m1 REG_ <<<"$("$KMHOST" reg query "$K")")
[[ "$first" == *"Str    REG_SZ"* ]] || fail "first value should be Str: $first"
run 0 reg query "$K" /s
has "$OUT" "    Inner    REG_SZ    in"
run 0 reg query "$K" /v Inner /s
has "$OUT" "End of search: 1 match(es) found."

# failures and syntax errors
run 1 reg query "$K" /v Missing
has "$ERR" "ERROR: The system was unable to find the specified registry key or value."
run 1 reg query 'HKLM\SOFTWARE\NoSuchKey'
run 1 reg query 'HKCU\Software'
has "$ERR" "HKLM"
run 2 reg query
run 2 reg frobnicate "$K"
run 2 reg add "$K" /v a /ve
run 2 reg add "$K" /v a /t REG_WRONG /d 1 /f
run 1 reg add "$K" /v a /t REG_DWORD /d 4294967296 /f
run 1 reg add "$K" /v a /t REG_BINARY /d 0g /f
# no /f, no terminal: refuse and say so, change nothing
run 1 reg add "$K" /v Str /d other
has "$ERR" "/f"
run 0 reg query "$K" /v Str
has "$OUT" "hello world"
run 1 reg delete "$K" /v Str
has "$ERR" "/f"

# export, delete, import, export: same bytes
run 0 reg export "$K" "$TMP/one.reg"
head -c 2 "$TMP/one.reg" | od -An -tx1 | grep -q "ff fe" || fail "export is not UTF-16LE with BOM"
iconv -f UTF-16 -t UTF-8 "$TMP/one.reg" >"$TMP/one.txt" 2>/dev/null || fail "export is not UTF-16"
grep -q '^Windows Registry Editor Version 5.00' "$TMP/one.txt" || fail "no header"
grep -q '^"Dw"=dword:0000000a' "$TMP/one.txt" || fail "dword line"
grep -q '^"Qw"=hex(b):9a,78,56,34,12,00,00,00' "$TMP/one.txt" || fail "qword line"
grep -q '^"Bin"=hex:00,ff,10' "$TMP/one.txt" || fail "binary line"
grep -q '^"Nothing"=hex(0):' "$TMP/one.txt" || fail "none line"
grep -q '^"Exp"=hex(2):25,00,53,00' "$TMP/one.txt" || fail "expand_sz line"
grep -q '^"Multi"=hex(7):6f,00,6e,00,65,00,00,00' "$TMP/one.txt" || fail "multi_sz line"
grep -q '^@="dflt"' "$TMP/one.txt" || fail "default value line"
run 1 reg export "$K" "$TMP/one.reg"
has "$ERR" "/y"
run 0 reg delete "$K" /f
run 1 reg query "$K"
run 0 reg import "$TMP/one.reg"
run 0 reg export "$K" "$TMP/two.reg" /y
cmp -s "$TMP/one.reg" "$TMP/two.reg" || fail "export after import differs"
run 0 reg query "$K\Sub\Deeper" /v Inner
has "$OUT" "in"

# import of a UTF-8 file with deletions
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\KmTest]\n"Str"=-\n"New"="v"\n\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\KmTest\\Sub]\n' >"$TMP/del.reg"
run 0 reg import "$TMP/del.reg"
run 1 reg query "$K" /v Str
run 1 reg query "$K\Sub"
run 0 reg query "$K" /v New
run 1 reg import "$TMP/nonexistent.reg"
printf 'Windows Registry Editor Version 5.00\n[HKLM\\SOFTWARE\\KmTest]\n"x"=bogus:1\n' >"$TMP/bad.reg"
run 1 reg import "$TMP/bad.reg"
has "$ERR" "line 3"

# delete forms
run 0 reg delete "$K" /va /f
run 1 reg query "$K" /v New
run 0 reg delete "$K" /f
run 1 reg delete "$K" /f
run 1 reg delete 'HKLM\SOFTWARE' /f

# --home selects another store
run 0 --home "$TMP/other" reg add "$K" /v OnlyThere /d 1 /f
run 1 reg query "$K" /v OnlyThere
run 0 --home "$TMP/other" reg query "$K" /v OnlyThere
[ -f "$TMP/other/registry.db" ] || fail "--home did not hold registry.db"

km_done
