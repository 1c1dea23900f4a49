/*
 * MmGetSystemRoutineAddress: a driver's run-time lookup of an ntoskrnl.exe
 * or hal.dll export by name. Documented: returns NULL when the routine does
 * not exist, which is how drivers probe for routines of newer Windows
 * versions; so an export kmhost lacks must give NULL, never a stub.
 */
#include "km.h"

PVOID NTAPI MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName)
{
    char name[256];
    USHORT chars;

    if (!SystemRoutineName || !SystemRoutineName->Buffer)
        return NULL;
    chars = SystemRoutineName->Length / sizeof(WCHAR);
    if (chars == 0 || chars >= sizeof(name))
        return NULL;
    const KM_UNALIGNED_WCHAR *buffer = SystemRoutineName->Buffer; /* any alignment */
    for (USHORT i = 0; i < chars; i++) {
        WCHAR c = buffer[i];
        if (c == 0 || c > 0x7f) /* export names are ASCII */
            return NULL;
        name[i] = (char)c;
    }
    name[chars] = 0;
    const KM_EXPORT_ENTRY *e = KmLookupExport("ntoskrnl.exe", name);
    return e ? e->Address : NULL;
}
KM_EXPORT(MmGetSystemRoutineAddress);
