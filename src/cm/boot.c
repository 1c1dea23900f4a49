/*
 * Boot settings for bcdedit: REG_SZ values under CM_BOOT_SETTINGS_KEY in the
 * default store (Windows keeps its BCD store as the hive
 * \Registry\Machine\BCD00000000; kmhost keeps its own settings there).
 */
#include "cm/cmp.h"

NTSTATUS CmGetBootSetting(const char *Name, char *Value, size_t Len)
{
    CM_STORE *store;
    CM_KEY_ID key;
    NTSTATUS s = CmStoreDefault(&store);
    if (NT_SUCCESS(s))
        s = CmOpenKey(store, 0, CM_BOOT_SETTINGS_KEY, &key);
    if (NT_SUCCESS(s))
        s = CmQueryValueString(store, key, Name, Value, Len);
    return s;
}

NTSTATUS CmSetBootSetting(const char *Name, const char *Value)
{
    CM_STORE *store;
    CM_KEY_ID key;
    NTSTATUS s = CmStoreDefault(&store);
    if (!NT_SUCCESS(s))
        return s;
    if (!Value) {
        s = CmOpenKey(store, 0, CM_BOOT_SETTINGS_KEY, &key);
        return NT_SUCCESS(s) ? CmDeleteValue(store, key, Name) : s;
    }
    s = CmCreateKey(store, 0, CM_BOOT_SETTINGS_KEY, CM_CREATE_INTERMEDIATE, &key, NULL);
    return NT_SUCCESS(s) ? CmSetValueString(store, key, Name, REG_SZ, Value) : s;
}
