// The long mode of handles.c (stress.h): built, not run by CTest.
#define STRESS_LONG 1
#include "../handles.c"
