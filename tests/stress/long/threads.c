// The long mode of threads.c (stress.h): built, not run by CTest.
#define STRESS_LONG 1
#include "../threads.c"
