/*
 * Services: driver services as Windows' service control manager keeps them,
 * under \Registry\Machine\System\CurrentControlSet\Services\<Name>, with
 * Windows' value names and meanings:
 *   Type         REG_DWORD  1 SERVICE_KERNEL_DRIVER, 2 SERVICE_FILE_SYSTEM_DRIVER
 *   Start        REG_DWORD  0 boot, 1 system, 2 auto, 3 demand, 4 disabled
 *   ErrorControl REG_DWORD  0 ignore, 1 normal, 2 severe, 3 critical
 *   ImagePath    REG_EXPAND_SZ  the driver file (kmhost: an absolute Linux path)
 *   DisplayName  REG_SZ
 *   Group        REG_SZ (optional), DependOnService REG_MULTI_SZ (optional)
 *
 * Running state: a running service is a kmhost process. It records its pid in
 * the volatile key \Registry\Machine\System\kmhost\Running\<Name> (value Pid,
 * REG_DWORD); a missing key or a pid that is no longer alive means stopped.
 */
#ifndef KM_CM_SERVICES_H
#define KM_CM_SERVICES_H

#include <sys/types.h>

#include "cm/cm.h"

#define CM_SERVICES_KEY "\\Registry\\Machine\\System\\CurrentControlSet\\Services"
#define CM_RUNNING_KEY "\\Registry\\Machine\\System\\kmhost\\Running"

#define SERVICE_KERNEL_DRIVER 0x00000001
#define SERVICE_FILE_SYSTEM_DRIVER 0x00000002
#define SERVICE_BOOT_START 0
#define SERVICE_SYSTEM_START 1
#define SERVICE_AUTO_START 2
#define SERVICE_DEMAND_START 3
#define SERVICE_DISABLED 4
#define SERVICE_ERROR_IGNORE 0
#define SERVICE_ERROR_NORMAL 1
#define SERVICE_ERROR_SEVERE 2
#define SERVICE_ERROR_CRITICAL 3
/* SERVICE_STATUS.dwCurrentState */
#define SERVICE_STOPPED 1
#define SERVICE_START_PENDING 2
#define SERVICE_STOP_PENDING 3
#define SERVICE_RUNNING 4

/* ---- implemented by the I/O manager (src/io), the lead ----
   Start: load and run the service's driver in this process (like kmhost run
   on its ImagePath) for ForSeconds (0: until SIGINT/SIGTERM), recording the
   pid with CmServiceSetRunning; returns kmhost's exit status.
   Stop: end the running service's process (from another process) and wait
   for it; returns 0, or 1 if it was not running. */
int KmServiceStart(const char *Name, double ForSeconds);
int KmServiceStop(const char *Name);

/* ---- implemented in src/cm/services.c ---- */

/* The service's ImagePath as stored (REG_EXPAND_SZ, as UTF-8).
   STATUS_OBJECT_NAME_NOT_FOUND if there is no such service or no ImagePath. */
NTSTATUS CmServiceImagePath(const char *Name, char *Path, size_t Len);
/* NT path of the service key ("\Registry\Machine\...\Services\<Name>"), for
   DriverEntry's RegistryPath. */
void CmServiceKeyPath(const char *Name, char *Buf, size_t Len);

typedef struct CM_SERVICE_INFO {
    char Name[256];
    ULONG Type, Start, ErrorControl;
    char Group[256];
    char ImagePath[4096];
} CM_SERVICE_INFO;
/* Services whose Start is at most MaxStart (SERVICE_AUTO_START for
   "kmhost run" without a name), in load order: Start ascending (boot, system,
   auto), then by Group in the order of
   \Registry\Machine\System\CurrentControlSet\Control\ServiceGroupOrder\List
   (services of unlisted groups, then without a group, after), then Tag, then
   name. *Services is malloc'ed (free()); driver services only (Type 1 or 2). */
NTSTATUS CmEnumerateServices(ULONG MaxStart, CM_SERVICE_INFO **Services, size_t *Count);

/* Running state, shared across processes. */
NTSTATUS CmServiceSetRunning(const char *Name, pid_t Pid);
NTSTATUS CmServiceClearRunning(const char *Name);
/* SERVICE_RUNNING with *Pid, or SERVICE_STOPPED (a dead pid counts as
   stopped and its record is removed). */
NTSTATUS CmServiceQueryState(const char *Name, ULONG *State, pid_t *Pid);

#endif
