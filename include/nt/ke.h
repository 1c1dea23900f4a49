/*
 * Kernel (Ke) structures with the exact WDK x64 layout: dispatcher objects,
 * wait blocks, the KPCR fields that inline WDK code reads through gs.
 */
#ifndef KM_NT_KE_H
#define KM_NT_KE_H

#include "ntdef.h"

#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define SYNCH_LEVEL 12
#define HIGH_LEVEL 15

/* DISPATCHER_HEADER.Type values (KOBJECTS). */
enum {
    EventNotificationObject = 0,
    EventSynchronizationObject = 1,
    MutantObject = 2,
    ProcessObject = 3,
    QueueObject = 4,
    SemaphoreObject = 5,
    ThreadObject = 6,
    GateObject = 7,
    TimerNotificationObject = 8,
    TimerSynchronizationObject = 9,
};

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;
typedef enum _WAIT_TYPE { WaitAll, WaitAny, WaitNotification, WaitDequeue } WAIT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer, SynchronizationTimer } TIMER_TYPE;

/* KWAIT_REASON: recorded, never interpreted (Executive is what drivers pass). */
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6, WrExecutive = 7 } KWAIT_REASON;

#define THREAD_WAIT_OBJECTS 3
#define MAXIMUM_WAIT_OBJECTS 64

/*
 * The first 4 bytes are Type, Signalling/Abandoned, Size and a flags byte; the
 * same 4 bytes read as Lock. Bit 7 of Lock (the top bit of Type, whose values
 * stay below 0x80) is the object's own lock, as in NT.
 */
typedef struct _DISPATCHER_HEADER {
    union {
        struct {
            UCHAR Type;
            union {
                UCHAR Abandoned;
                UCHAR Absolute;
                BOOLEAN Signalling;
            };
            union {
                UCHAR Size; /* in 4-byte units */
                UCHAR Hand;
            };
            union {
                UCHAR Inserted;
                UCHAR DebugActive;
                BOOLEAN DpcActive;
            };
        };
        volatile LONG Lock;
    };
    volatile LONG SignalState;
    LIST_ENTRY WaitListHead;
} DISPATCHER_HEADER, *PDISPATCHER_HEADER;
_Static_assert(sizeof(DISPATCHER_HEADER) == 24, "DISPATCHER_HEADER");
_Static_assert(offsetof(DISPATCHER_HEADER, SignalState) == 4, "SignalState");
_Static_assert(offsetof(DISPATCHER_HEADER, WaitListHead) == 8, "WaitListHead");

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;
_Static_assert(sizeof(KEVENT) == 24, "KEVENT");

typedef struct _KSEMAPHORE {
    DISPATCHER_HEADER Header;
    LONG Limit;
} KSEMAPHORE, *PKSEMAPHORE, *PRKSEMAPHORE;
_Static_assert(sizeof(KSEMAPHORE) == 32, "KSEMAPHORE");

struct _KTHREAD;
typedef struct _KMUTANT {
    DISPATCHER_HEADER Header;
    LIST_ENTRY MutantListEntry;
    struct _KTHREAD *OwnerThread;
    BOOLEAN Abandoned;
    UCHAR ApcDisable;
    UCHAR KmOwnedReference; /* kmhost, in the padding: an object mutant (ZwCreateMutant) is
                               referenced while owned (ke/mutex.c) */
} KMUTANT, *PKMUTANT, *PRKMUTANT, KMUTEX, *PKMUTEX, *PRKMUTEX;
_Static_assert(sizeof(KMUTANT) == 56, "KMUTANT");
_Static_assert(offsetof(KMUTANT, OwnerThread) == 40, "KMUTANT.OwnerThread");

/*
 * A wait block links one waiting thread into one object's WaitListHead.
 * Layout as mingw-w64's wdm.h (0x30 bytes), which is what a driver's
 * WaitBlockArray is sized by.
 */
typedef struct _KWAIT_BLOCK {
    LIST_ENTRY WaitListEntry;
    struct _KTHREAD *Thread;
    PVOID Object;
    struct _KWAIT_BLOCK *NextWaitBlock;
    USHORT WaitKey;
    UCHAR WaitType;
    volatile UCHAR BlockState;
    LONG SpareLong;
} KWAIT_BLOCK, *PKWAIT_BLOCK, *PRKWAIT_BLOCK;
_Static_assert(sizeof(KWAIT_BLOCK) == 0x30, "KWAIT_BLOCK");

typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

typedef struct _KDPC {
    union {
        ULONG TargetInfoAsUlong;
        struct {
            UCHAR Type;
            UCHAR Importance;
            volatile USHORT Number;
        };
    };
    SINGLE_LIST_ENTRY DpcListEntry;
    KSPIN_LOCK ProcessorHistory;
    PVOID DeferredRoutine;
    PVOID DeferredContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    volatile PVOID DpcData;
} KDPC, *PKDPC, *PRKDPC;
_Static_assert(sizeof(KDPC) == 64, "KDPC");

typedef struct _KTIMER {
    DISPATCHER_HEADER Header;
    ULONGLONG DueTime;
    LIST_ENTRY TimerListEntry;
    struct _KDPC *Dpc;
    ULONG Processor;
    LONG Period;
} KTIMER, *PKTIMER, *PRKTIMER;
_Static_assert(sizeof(KTIMER) == 64, "KTIMER");

typedef VOID NTAPI KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

/*
 * The processor control region, as far as inline WDK code reads it:
 * gs:[0x18] Self (KeGetPcr), gs:[0x50] Irql, gs:[0x180] Prcb,
 * gs:[0x184] processor number (KeGetCurrentProcessorNumber reads a word),
 * gs:[0x188] Prcb.CurrentThread (KeGetCurrentThread), gs:[0x1a4] Prcb.Number.
 * kmhost's per-thread private state lives past the architected part.
 */
#define KM_PCR_SELF 0x18
#define KM_PCR_CURRENT_PRCB 0x20
#define KM_PCR_IRQL 0x50
#define KM_PCR_PRCB 0x180
#define KM_PCR_LEGACY_NUMBER 0x184
#define KM_PCR_CURRENT_THREAD 0x188
#define KM_PCR_NUMBER 0x1a4

typedef struct _KPCR {
    PVOID GdtBase;                  /* 0x000 */
    PVOID TssBase;                  /* 0x008 */
    ULONG64 UserRsp;                /* 0x010 */
    struct _KPCR *Self;             /* 0x018 */
    PVOID CurrentPrcb;              /* 0x020 */
    PVOID LockArray;                /* 0x028 */
    PVOID Used_Self;                /* 0x030 */
    PVOID IdtBase;                  /* 0x038 */
    ULONG64 Unused[2];              /* 0x040 */
    volatile KIRQL Irql;            /* 0x050 */
    UCHAR Pad0[0x180 - 0x51];       /* 0x051 */
    ULONG MxCsr;                    /* 0x180 Prcb.MxCsr */
    UCHAR LegacyNumber;             /* 0x184 */
    UCHAR ReservedMustBeZero;       /* 0x185 */
    UCHAR InterruptRequest;         /* 0x186 */
    UCHAR IdleHalt;                 /* 0x187 */
    struct _KTHREAD *CurrentThread; /* 0x188 */
    struct _KTHREAD *NextThread;    /* 0x190 */
    struct _KTHREAD *IdleThread;    /* 0x198 */
    UCHAR NestingLevel;             /* 0x1a0 */
    UCHAR Pad1[3];                  /* 0x1a1 */
    USHORT Number;                  /* 0x1a4 */
    UCHAR Pad2[0x1000 - 0x1a6];
} KPCR, *PKPCR;
_Static_assert(offsetof(KPCR, Self) == KM_PCR_SELF, "KPCR.Self");
_Static_assert(offsetof(KPCR, Irql) == KM_PCR_IRQL, "KPCR.Irql");
_Static_assert(offsetof(KPCR, LegacyNumber) == KM_PCR_LEGACY_NUMBER, "KPCR.Prcb.LegacyNumber");
_Static_assert(offsetof(KPCR, CurrentThread) == KM_PCR_CURRENT_THREAD, "KPCR.Prcb.CurrentThread");
_Static_assert(offsetof(KPCR, Number) == KM_PCR_NUMBER, "KPCR.Prcb.Number");
_Static_assert(sizeof(KPCR) == 0x1000, "KPCR page");

/* KUSER_SHARED_DATA: the fields inline WDK code reads. */
#define KM_USER_SHARED_DATA 0xFFFFF78000000000ULL
#define KM_USD_TICK_COUNT_MULTIPLIER 0x004
#define KM_USD_INTERRUPT_TIME 0x008
#define KM_USD_SYSTEM_TIME 0x014
#define KM_USD_TIME_ZONE_BIAS 0x020
#define KM_USD_NT_MAJOR_VERSION 0x26c
#define KM_USD_NT_MINOR_VERSION 0x270
#define KM_USD_TICK_COUNT 0x320

#endif
