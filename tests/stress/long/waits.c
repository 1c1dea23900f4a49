// The long mode of waits.c (stress.h): built, not run by CTest.
#define STRESS_LONG 1
#include "../waits.c"
