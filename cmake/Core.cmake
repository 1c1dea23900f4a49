# The host core's dependencies and generated sources, shared by the main build
# and the fuzz build (fuzz/CMakeLists.txt). KM_ROOT is the source tree.
# Sets KM_LIBS, KM_CORE_SOURCES and generates status_names.inc (NTSTATUS
# names, from the same #defines the code uses) into ${CMAKE_BINARY_DIR}/generated.
# libcrypto and SQLite are linked statically when their archives are there
# (Debian's -dev packages ship them): the dynamic loader's symbol lookups for
# libcrypto's thousands of relocations cost about a millisecond of every
# kmhost start (issue 6's "kmhost run to DriverEntry").
find_package(Threads REQUIRED)
set(OPENSSL_USE_STATIC_LIBS TRUE)
find_package(OpenSSL REQUIRED)
find_library(SQLITE3_STATIC_LIB libsqlite3.a)
if(SQLITE3_STATIC_LIB)
  set(KM_SQLITE ${SQLITE3_STATIC_LIB} ${CMAKE_DL_LIBS})
else()
  find_package(SQLite3 REQUIRED)
  set(KM_SQLITE SQLite::SQLite3)
endif()
find_library(ZYDIS_LIB Zydis REQUIRED)
find_library(ZYCORE_LIB Zycore)
set(KM_LIBS Threads::Threads ${KM_SQLITE} OpenSSL::Crypto ${ZYDIS_LIB} m)
if(ZYCORE_LIB)
  list(APPEND KM_LIBS ${ZYCORE_LIB})
endif()

set(KM_STATUS_INC ${CMAKE_BINARY_DIR}/generated/status_names.inc)
file(STRINGS ${KM_ROOT}/include/nt/ntstatus.h KM_STATUS_LINES
     REGEX "^#define STATUS_[A-Z0-9_]+ \\(\\(NTSTATUS\\)0x[0-9A-Fa-f]+\\)")
set(KM_STATUS_TEXT "")
foreach(line ${KM_STATUS_LINES})
  string(REGEX REPLACE "^#define (STATUS_[A-Z0-9_]+) .*" "\\1" name "${line}")
  string(APPEND KM_STATUS_TEXT "{${name}, \"${name}\"},\n")
endforeach()
file(WRITE ${KM_STATUS_INC}.tmp "${KM_STATUS_TEXT}")
configure_file(${KM_STATUS_INC}.tmp ${KM_STATUS_INC} COPYONLY)

file(GLOB KM_CORE_SOURCES CONFIGURE_DEPENDS ${KM_ROOT}/src/*/*.c)
list(FILTER KM_CORE_SOURCES EXCLUDE REGEX "/src/cli/")
