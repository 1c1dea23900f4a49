/*
 * The load-time patching hook. LdrLoadDriverImage calls it once per image,
 * after relocation, import binding and the /GS cookie and before the section
 * protections are applied, so the whole image is still writable here.
 *
 * Reserved for rewriting privileged instructions (mov cr8, reads of
 * KUSER_SHARED_DATA) into calls that do not trap, as DESIGN.md section 2 plans.
 * Until that exists every such instruction is emulated by the HAL's fault
 * handler, and this hook changes nothing.
 */
#include "ldr/ldr.h"

NTSTATUS LdrpPatchImage(uint8_t *Base, const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    (void)Base;
    (void)Info;
    (void)Why;
    (void)WhyLen;
    return STATUS_SUCCESS;
}
