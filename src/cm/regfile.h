/*
 * .reg files, as regedit and reg.exe write and read them ("Windows Registry
 * Editor Version 5.00").
 */
#ifndef KM_CM_REGFILE_H
#define KM_CM_REGFILE_H

#include "cm/cm.h"

/* Applies FileName (UTF-16LE with BOM, UTF-8 with or without BOM, ASCII) to
   Store: [key] creates the key and its parents, [-key] deletes the tree,
   "name"=- deletes a value. Stops at the first error, with its line number
   and reason in Why. */
NTSTATUS CmImportRegFile(CM_STORE *Store, const char *FileName, char *Why, size_t WhyLen);

/* Writes NtKeyPath and every key below it, each with its values, to
   FileName as UTF-16LE with a BOM and CRLF line ends, as regedit does.
   Strings that cannot be written in "..." form unchanged (missing
   terminator, embedded NUL or line break) are written as hex(1) / hex(2),
   and REG_DWORD data that is not 4 bytes as hex(4), so that every value
   reads back byte for byte. */
NTSTATUS CmExportRegFile(CM_STORE *Store, const char *NtKeyPath, const char *FileName, char *Why,
                         size_t WhyLen);

/* Formatting shared with reg query: the text of a value's data in reg.exe's
   style (REG_DWORD 0x..., REG_BINARY hex digits, REG_MULTI_SZ joined with
   "\0"). Malloc'ed. */
char *CmFormatValueData(const CM_VALUE *Value);
const char *CmValueTypeName(ULONG Type); /* "REG_SZ"...; NULL if unnamed */

#endif
