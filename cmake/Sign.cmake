# Authenticode signing of driver files with osslsigncode, the step a Windows
# developer does with signtool before a 64-bit Windows loads a driver.
#
# At configure time scripts/make-test-cert.sh makes (once) the test
# certificates in ${KM_TEST_CERT_DIR} (<build>/certs):
#   test-cert.pem/test-key.pem  self-signed; loads under TESTSIGNING ON
#   leaf-cert.pem/leaf-key.pem  issued by root-cert.pem, the test root CA;
#                               loads once root-cert.pem is a trusted root
#
# km_sign_driver(<name|file.sys> [CERT test|leaf])
#   <name>: a driver made by km_add_driver(<name> ...) in the same scope;
#   file.sys: the OUTPUT of a custom command defined in the same directory.
#   Appends the signing to the command that builds the file, so the .sys is
#   signed in place each time it is rebuilt and never left half-signed.
#   CERT defaults to test.
find_program(KM_OSSLSIGNCODE osslsigncode REQUIRED)
find_program(KM_OPENSSL openssl REQUIRED)

set(KM_TEST_CERT_DIR ${CMAKE_BINARY_DIR}/certs CACHE INTERNAL "test signing certificates")
execute_process(COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/make-test-cert.sh ${KM_TEST_CERT_DIR}
                RESULT_VARIABLE km_cert_result)
if(NOT km_cert_result EQUAL 0)
  message(FATAL_ERROR "scripts/make-test-cert.sh failed (${km_cert_result})")
endif()

function(km_sign_driver what)
  cmake_parse_arguments(S "" "CERT" "" ${ARGN})
  if(NOT S_CERT)
    set(S_CERT test)
  endif()
  if(NOT S_CERT MATCHES "^(test|leaf)$")
    message(FATAL_ERROR "km_sign_driver: CERT must be test or leaf, not ${S_CERT}")
  endif()
  if(DEFINED KM_DRIVER_${what}_PATH)
    set(file ${KM_DRIVER_${what}_PATH})
  else()
    get_filename_component(file ${what} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(cert ${KM_TEST_CERT_DIR}/${S_CERT}-cert.pem)
  set(key ${KM_TEST_CERT_DIR}/${S_CERT}-key.pem)
  add_custom_command(
    OUTPUT ${file} APPEND
    COMMAND ${CMAKE_COMMAND} -E rm -f ${file}.signed
    COMMAND ${KM_OSSLSIGNCODE} sign -h sha256 -certs ${cert} -key ${key} -in ${file}
            -out ${file}.signed
    COMMAND ${CMAKE_COMMAND} -E rename ${file}.signed ${file}
    DEPENDS ${cert} ${key})
endfunction()
