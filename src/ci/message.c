/*
 * The text of a code-integrity refusal: what is wrong with the image, then
 * what a developer does about it, the same remedy every time so that the
 * first refusal a new user meets teaches the signing step.
 */
#include "ci/cip.h"

#include <stdio.h>

#define CIP_REMEDY                                                                                 \
    "To sign a driver: osslsigncode sign -certs cert.pem -key key.pem -in x.sys -out "             \
    "x-signed.sys (scripts/make-test-cert.sh makes a test certificate). Then either trust "        \
    "the root that issued the certificate (kmhost certutil -addstore root root.pem) or "           \
    "enable test signing (kmhost bcdedit -set TESTSIGNING ON)"

NTSTATUS CipRefuse(char *Why, size_t WhyLen, const char *Format, ...)
{
    if (!Why || !WhyLen)
        return STATUS_INVALID_IMAGE_HASH;
    va_list args;
    va_start(args, Format);
    int n = vsnprintf(Why, WhyLen, Format, args);
    va_end(args);
    if (n >= 0 && (size_t)n < WhyLen)
        snprintf(Why + n, WhyLen - (size_t)n, ". %s.", CIP_REMEDY);
    return STATUS_INVALID_IMAGE_HASH;
}
