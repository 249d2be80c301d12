# Compiler flags of a KILN_FUZZ build (included by the top-level CMakeLists.txt before any target
# is defined, so the libraries the fuzzers link are instrumented too): libFuzzer's coverage
# instrumentation, AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer, every
# UBSan report fatal, and libstdc++'s bounds checks. Only clang provides libFuzzer.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "KILN_FUZZ=ON needs clang (libFuzzer), but the C++ compiler is "
                      "${CMAKE_CXX_COMPILER_ID}; configure with -DCMAKE_CXX_COMPILER=clang++")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS)
add_link_options(-fsanitize=address,undefined)
