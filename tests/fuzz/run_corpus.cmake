# Runs a fuzz target once over every file of its seed corpus (files given one
# by one: libFuzzer then only executes them, it never writes anything).
# cmake -DFUZZER=<binary> -DCORPUS=<dir> -P run_corpus.cmake
file(GLOB seeds LIST_DIRECTORIES false "${CORPUS}/*")
if(NOT seeds)
  message(FATAL_ERROR "no seeds in ${CORPUS}")
endif()
execute_process(COMMAND "${FUZZER}" -rss_limit_mb=2560 -timeout=60 ${seeds} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}) on a seed of ${CORPUS}")
endif()
