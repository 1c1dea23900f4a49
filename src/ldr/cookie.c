/*
 * The /GS security cookie. An image compiled with buffer-security checks
 * points at its __security_cookie from the load-configuration directory
 * (IMAGE_LOAD_CONFIG_DIRECTORY64.SecurityCookie, a VA, so already relocated).
 * The linker leaves the default value 0x2B992DDFA232 there; the Windows loader
 * replaces it with a random value before the entry point runs (the driver's
 * GsDriverEntry checks that it did). On x64 the top 16 bits of the cookie are
 * kept zero. A cookie that is not the default was not left for the loader
 * and is left alone.
 */
#include "ldr/ldr.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t LdrpRandomCookie(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    }
    v &= 0x0000FFFFFFFFFFFFull;
    if (v == 0 || v == LDR_DEFAULT_SECURITY_COOKIE)
        v = LDR_DEFAULT_SECURITY_COOKIE ^ 0x5A5A5A5A5A5Aull;
    return v;
}

NTSTATUS LdrpInitSecurityCookie(uint8_t *Base, uint64_t ActualBase, const LDR_PE_INFO *Info,
                                char *Why, size_t WhyLen)
{
    const IMAGE_DATA_DIRECTORY *dir = &Info->Directory[IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG];
    uint32_t declared;
    uint64_t cookieVa, cookie;
    if (!dir->VirtualAddress || dir->Size < 4)
        return STATUS_SUCCESS;
    memcpy(&declared, Base + dir->VirtualAddress, 4);
    /* Older load-config layouts end before SecurityCookie: then there is none. */
    uint32_t size = declared < dir->Size ? declared : dir->Size;
    if (size < LDR_LOAD_CONFIG_COOKIE_OFFSET + 8)
        return STATUS_SUCCESS;
    memcpy(&cookieVa, Base + dir->VirtualAddress + LDR_LOAD_CONFIG_COOKIE_OFFSET, 8);
    if (!cookieVa)
        return STATUS_SUCCESS;
    uint64_t rva = cookieVa - ActualBase;
    if (cookieVa < ActualBase || !LdrpInRange(rva, 8, Info->SizeOfImage))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the load-configuration SecurityCookie VA 0x%llx lies outside the image "
                        "(0x%llx+0x%x)",
                        (unsigned long long)cookieVa, (unsigned long long)ActualBase,
                        Info->SizeOfImage);
    memcpy(&cookie, Base + rva, 8);
    if (cookie != LDR_DEFAULT_SECURITY_COOKIE)
        return STATUS_SUCCESS;
    cookie = LdrpRandomCookie();
    memcpy(Base + rva, &cookie, 8);
    return STATUS_SUCCESS;
}
