/*
 * HalInitSystem: everything the CPU emulation needs before driver code runs.
 * It installs the trap handler, which must come after a sanitizer runtime's
 * own SIGSEGV handler (sanitizers initialise before main, so any call from
 * main qualifies). AddressSanitizer lets it replace its own only with
 * ASAN_OPTIONS=allow_user_segv_handler=1, the default in GCC 12's runtime;
 * with 0 it silently keeps its handler (and reports our sigaction as done),
 * and every trapped instruction then ends in an ASan SEGV report.
 */
#include "hal/trap.h"

#include <pthread.h>

static pthread_once_t HalpInitOnce = PTHREAD_ONCE_INIT;

static void HalpInitSystemOnce(void)
{
    static const int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};

    HalpInitProcessors();
    HalpInitSharedData(HalpProcessorCount());
    HalpInitDecoder();

    /* SA_NODEFER: driver code run from KiIrqlLowered may trap again while
       the handler's frame is still on the stack. */
    struct sigaction sa = {0};
    sa.sa_sigaction = HalpTrap;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < KM_ARRAY_SIZE(signals); i++)
        sigaction(signals[i], &sa, NULL);
}

void HalInitSystem(void)
{
    pthread_once(&HalpInitOnce, HalpInitSystemOnce);
    HalInitThreadSignalStack();
}
