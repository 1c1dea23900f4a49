/*
 * The registry of loaded driver images, readable from signal handlers.
 *
 * Invariants:
 * - Writers (LdrpRegisterImage, LdrpUnregisterImage) hold LdrpRegistryLock.
 *   Readers (LdrFindImageByAddress, LdrDescribeAddress, from any thread or
 *   signal handler) take no lock: they follow LdrpHead and each LDR_IMAGE.Next
 *   with acquire loads, and writers publish with release stores only after
 *   the record is complete, so a reader never sees a half-built record.
 * - A record is inserted at the head, so every Next pointer points to a record
 *   inserted earlier. Unlinking stores the victim's Next into its predecessor
 *   and leaves the victim's own Next untouched; both keep that property, so a
 *   reader standing on an unlinked record still reaches the end of the list
 *   and no walk can loop.
 * - A published record (LDR_IMAGE and its LDR_PRIVATE, name and symbols) is
 *   never freed or reused: an unloaded image's record moves to the retired
 *   list. A reader that raced with the unload, or a caller keeping the pointer
 *   that LdrFindImageByAddress returned, therefore always reads valid memory.
 *   The cost is one record per load for the life of the process.
 * - Private->Live is cleared before unlinking and before the mapping goes
 *   away; readers skip records that are not Live. The image's memory itself is
 *   valid only while it is loaded: callers must not unload a driver whose code
 *   may still run.
 */
#include "ldr/ldr.h"

#include <pthread.h>

static pthread_mutex_t LdrpRegistryLock = PTHREAD_MUTEX_INITIALIZER;
static LDR_IMAGE *LdrpHead;
static LDR_IMAGE *LdrpRetiredHead; /* keeps retired records reachable */

void LdrpRegisterImage(LDR_IMAGE *Image)
{
    LDR_PRIVATE *p = Image->Private;
    pthread_mutex_lock(&LdrpRegistryLock);
    __atomic_store_n(&p->Live, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&Image->Next, LdrpHead, __ATOMIC_RELAXED);
    __atomic_store_n(&LdrpHead, Image, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&LdrpRegistryLock);
}

int LdrpUnregisterImage(LDR_IMAGE *Image)
{
    LDR_PRIVATE *p = Image->Private;
    pthread_mutex_lock(&LdrpRegistryLock);
    if (!p->Live) {
        pthread_mutex_unlock(&LdrpRegistryLock);
        return 0;
    }
    __atomic_store_n(&p->Live, 0, __ATOMIC_RELEASE);
    LDR_IMAGE **link = &LdrpHead;
    while (*link && *link != Image)
        link = &(*link)->Next;
    if (*link)
        __atomic_store_n(link, Image->Next, __ATOMIC_RELEASE);
    p->Retired = LdrpRetiredHead;
    LdrpRetiredHead = Image;
    pthread_mutex_unlock(&LdrpRegistryLock);
    return 1;
}

LDR_IMAGE *LdrFindImageByAddress(const void *Address)
{
    uintptr_t a = (uintptr_t)Address;
    for (LDR_IMAGE *img = __atomic_load_n(&LdrpHead, __ATOMIC_ACQUIRE); img;
         img = __atomic_load_n(&img->Next, __ATOMIC_ACQUIRE)) {
        const LDR_PRIVATE *p = img->Private;
        if (!__atomic_load_n(&p->Live, __ATOMIC_ACQUIRE))
            continue;
        if (a >= (uintptr_t)img->Base && a - (uintptr_t)img->Base < img->Size)
            return img;
    }
    return NULL;
}

const void *LdrpGetExceptionDirectory(const LDR_IMAGE *Image, ULONG *Size)
{
    const LDR_PRIVATE *p = Image->Private;
    if (!p->ExceptionRva || !p->ExceptionSize) {
        if (Size)
            *Size = 0;
        return NULL;
    }
    if (Size)
        *Size = p->ExceptionSize;
    return Image->Base + p->ExceptionRva;
}
