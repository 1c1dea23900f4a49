# Windows x64 kernel drivers (.sys), built with mingw-w64 against its DDK
# headers: subsystem native, entry DriverEntry, imports from ntoskrnl.exe and
# hal.dll, signed with the test certificate (cmake/Sign.cmake) unless UNSIGNED.
# Usage: km_add_driver(NAME SOURCES a.c b.c [INCLUDES dir...] [OUTDIR dir] [UNSIGNED])
find_program(KM_MINGW_CC x86_64-w64-mingw32-gcc REQUIRED)
find_program(KM_MINGW_DLLTOOL x86_64-w64-mingw32-dlltool REQUIRED)

set(KM_DRIVER_CFLAGS
    -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter
    -ffreestanding -fno-stack-protector -fno-builtin -mno-red-zone
    -I/usr/x86_64-w64-mingw32/include/ddk -I${CMAKE_SOURCE_DIR}/drivers/include)
set(KM_DRIVER_LDFLAGS
    -nostdlib -nostartfiles -Wl,--subsystem,native -Wl,--entry,DriverEntry
    -Wl,--image-base,0x140000000 -Wl,--dynamicbase -Wl,--nxcompat)

# Routines ntoskrnl.exe exports that mingw-w64's libntoskrnl.a lacks.
set(KM_EXTRA_IMPLIB ${CMAKE_BINARY_DIR}/drivers/libkmextra.a)
add_custom_command(
  OUTPUT ${KM_EXTRA_IMPLIB}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/drivers
  COMMAND ${KM_MINGW_DLLTOOL} -k -d ${CMAKE_SOURCE_DIR}/drivers/include/kmextra.def
          -l ${KM_EXTRA_IMPLIB}
  DEPENDS ${CMAKE_SOURCE_DIR}/drivers/include/kmextra.def
  COMMENT "Import library for ntoskrnl.exe routines missing from mingw-w64")
add_custom_target(kmextra_implib DEPENDS ${KM_EXTRA_IMPLIB})
add_custom_target(drivers ALL)

function(km_add_driver name)
  cmake_parse_arguments(D "UNSIGNED" "OUTDIR" "SOURCES;INCLUDES" ${ARGN})
  if(NOT D_OUTDIR)
    set(D_OUTDIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(out ${D_OUTDIR}/${name}.sys)
  set(srcs "")
  foreach(s ${D_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND srcs ${abs})
  endforeach()
  set(incs "")
  foreach(i ${D_INCLUDES})
    get_filename_component(abs ${i} ABSOLUTE)
    list(APPEND incs -I${abs})
  endforeach()
  file(GLOB hdrs ${CMAKE_SOURCE_DIR}/drivers/include/*.h ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${D_OUTDIR}
    COMMAND ${KM_MINGW_CC} ${KM_DRIVER_CFLAGS} ${incs} ${srcs} -o ${out} ${KM_DRIVER_LDFLAGS}
            ${KM_EXTRA_IMPLIB} -lntoskrnl -lhal -lgcc
    DEPENDS ${srcs} ${hdrs} ${KM_EXTRA_IMPLIB}
    COMMENT "Building driver ${name}.sys"
    VERBATIM)
  add_custom_target(drv_${name} DEPENDS ${out})
  add_dependencies(drv_${name} kmextra_implib)
  add_dependencies(drivers drv_${name})
  set_property(GLOBAL APPEND PROPERTY KM_DRIVERS ${name})
  set(KM_DRIVER_${name}_PATH ${out})
  set(KM_DRIVER_${name}_PATH ${out} PARENT_SCOPE)
  if(NOT D_UNSIGNED)
    km_sign_driver(${name})
  endif()
endfunction()
