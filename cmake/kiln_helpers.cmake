# kiln_library(NAME DIR DEPS...): a static library from DIR/*.cc, excluding *_test.cc; the tests
# beside the code are collected into the global property KILN_UNIT_TEST_SOURCES.
function(kiln_library name dir)
  file(GLOB _srcs CONFIGURE_DEPENDS "${dir}/*.cc")
  file(GLOB _tests CONFIGURE_DEPENDS "${dir}/*_test.cc")
  if(_tests)
    list(REMOVE_ITEM _srcs ${_tests})
    set_property(GLOBAL APPEND PROPERTY KILN_UNIT_TEST_SOURCES ${_tests})
  endif()
  add_library(${name} STATIC ${_srcs})
  # Source-tree include dirs apply only inside this build, so that install(EXPORT) of the runtime
  # (src/CMakeLists.txt) does not carry them; installed targets add their own INSTALL_INTERFACE.
  target_include_directories(
    ${name} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                   $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/src>
                   $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>)
  target_link_libraries(${name} PUBLIC ${ARGN})
endfunction()
