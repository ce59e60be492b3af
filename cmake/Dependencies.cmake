# Third-party dependencies as imported targets. Installed by scripts/setup.sh.

# ONNX Runtime: library and headers placed in third_party/onnxruntime by setup.
set(INFERGATE_ORT_ROOT "${PROJECT_SOURCE_DIR}/third_party/onnxruntime" CACHE PATH
    "Folder holding ONNX Runtime's include/ and lib/")
if(NOT EXISTS "${INFERGATE_ORT_ROOT}/lib/libonnxruntime.so.1")
  message(FATAL_ERROR "ONNX Runtime not found in ${INFERGATE_ORT_ROOT}; run scripts/setup.sh")
endif()
add_library(onnxruntime::onnxruntime SHARED IMPORTED GLOBAL)
set_target_properties(onnxruntime::onnxruntime PROPERTIES
  IMPORTED_LOCATION "${INFERGATE_ORT_ROOT}/lib/libonnxruntime.so.1"
  IMPORTED_SONAME "libonnxruntime.so.1"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${INFERGATE_ORT_ROOT}/include"
  INTERFACE_INCLUDE_DIRECTORIES "${INFERGATE_ORT_ROOT}/include")

find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED)  # libcrypto: token hashes (SHA-256), CRYPTO_memcmp, RAND_bytes
find_package(nlohmann_json REQUIRED)
find_package(SQLite3 REQUIRED)   # src/state: the durable journal
find_package(simdjson REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET GLOBAL libmosquitto)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET GLOBAL libnghttp2)  # the gRPC frontend's HTTP/2
find_package(Boost 1.74 REQUIRED)  # header-only: Beast and Asio
find_package(OpenSSL 1.1.1 REQUIRED)  # TLS on the HTTP and gRPC frontends (Asio's ssl::stream)
find_package(CURL REQUIRED)        # the real HTTP client of the e2e tests
find_package(GTest)
find_package(benchmark)
