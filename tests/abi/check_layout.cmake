# Runs the two layout probe compilations for the abi.layout test and fails if
# either does. Compiled objects are not kept: the probes are all compile-time.
#   mingw-w64 fails: layout.def (or include/nt/ntstatus.h) disagrees with the
#                    WDK as mingw-w64 reproduces it, or names what it lacks;
#   host fails:      include/nt disagrees with layout.def.
foreach(v MINGW_CC HOST_CC DDK_INCLUDE NT_INCLUDE SRC_DIR GEN_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_layout.cmake: -D${v}=... is required")
  endif()
endforeach()

set(common -std=gnu17 -Wall -Wextra -Werror -fsyntax-only -I${SRC_DIR} -I${GEN_DIR})
execute_process(
  COMMAND ${MINGW_CC} ${common} -ffreestanding -I${DDK_INCLUDE} ${SRC_DIR}/probe_mingw.c
  RESULT_VARIABLE mingw_rc OUTPUT_VARIABLE mingw_out ERROR_VARIABLE mingw_out)
execute_process(
  COMMAND ${HOST_CC} ${common} -I${NT_INCLUDE} ${SRC_DIR}/probe_host.c
  RESULT_VARIABLE host_rc OUTPUT_VARIABLE host_out ERROR_VARIABLE host_out)

set(failed FALSE)
if(NOT mingw_rc EQUAL 0)
  message("abi.layout: the probes disagree with mingw-w64's DDK headers (${DDK_INCLUDE}):\n"
          "${mingw_out}")
  set(failed TRUE)
else()
  message("abi.layout: mingw-w64 DDK headers: every probe holds")
endif()
if(NOT host_rc EQUAL 0)
  message("abi.layout: include/nt disagrees with the probes:\n${host_out}")
  set(failed TRUE)
else()
  message("abi.layout: include/nt: every probe holds")
endif()
if(failed)
  message(FATAL_ERROR "abi.layout: layouts differ; fix include/nt, never the probe values, "
                      "unless the WDK documents otherwise")
endif()
