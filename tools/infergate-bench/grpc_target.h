// The grpc target: KServe v2 ModelInfer calls (inference.GRPCInferenceService)
// with the inputs as raw_input_contents, on gRPC's asynchronous API: calls
// are started from any thread and completed by one thread draining one
// completion queue. `channels` > 1 opens that many HTTP/2 connections.
//
// With security.tls() the channels use SslCredentials (the server verified
// against the CA; a client certificate for mutual TLS); with security.token
// every call carries the metadata "authorization: Bearer <token>".
//
// A reply with at least one output is a success; a non-OK status counts as
// "grpc_<CODE>" (grpc_UNAVAILABLE, grpc_DEADLINE_EXCEEDED, ...).
//
// Threading: as Target; outcomes are delivered on the completion-queue thread.
#pragma once

#include <memory>
#include <string>

#include "client_security.h"
#include "payload.h"
#include "target.h"

namespace infergate::bench {

struct GrpcOptions {
  std::string address = "127.0.0.1:8001";  // HOST:PORT
  std::string model;
  std::string model_version;
  int channels = 1;
  Nanos timeout = std::chrono::seconds(10);  // connecting, and each call's deadline
  ClientSecurity security;
};

// Registers (or unregisters) [0, byte_size) of the shared memory object `key`
// as `region` with the server's SystemSharedMemoryRegister/Unregister.
core::Status GrpcSharedMemory(const std::string& address, bool register_region, const std::string& region,
                              const std::string& key, uint64_t byte_size);

// Decodes `payloads` (JSON bodies) into requests once, up front; inputs in
// shared memory (--shared-memory system) name their region instead of
// carrying raw contents.
core::StatusOr<std::unique_ptr<Target>> MakeGrpcTarget(const GrpcOptions& options, const PayloadSet& payloads);

}  // namespace infergate::bench
