// Frontend: what every transport (HTTP, gRPC, MQTT, and the ones to come)
// implements so the server can start and stop them all alike. A frontend
// only decodes its wire format into engine calls and encodes the answers;
// everything else lives in the Engine.
//
// Shutdown is two steps, the same on every transport:
//   1. The engine withdraws readiness (HTTP /v2/health/ready answers 503,
//      gRPC ServerReady false, MQTT status offline), then calls Drain on every
//      frontend: it stops accepting new work (new connections, new requests
//      on open connections, new MQTT messages) and answers everything it had
//      accepted. New requests that still reach it are refused with UNAVAILABLE
//      where the transport can say so.
//   2. Stop closes what is left and joins the frontend's threads.
//
// Thread-safety: Start, Drain and Stop are called from the server's main
// thread, in that order; name() from any thread.
#pragma once

#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace infergate::engine {

class Frontend {
 public:
  virtual ~Frontend() = default;

  // "http", "grpc", "mqtt": names the frontend in logs.
  virtual std::string_view name() const = 0;

  // Binds or connects and starts serving. An error names the address or
  // setting that failed.
  virtual core::Status Start() = 0;

  // Stops accepting new work and waits until every request accepted so far
  // is answered, or until `deadline` (steady clock), whichever comes first.
  // Returns whether everything was answered. Idempotent.
  virtual bool Drain(core::TimePoint deadline) = 0;

  // Closes every connection (what is still open after Drain is cancelled)
  // and joins the frontend's threads. Replies of requests still in the
  // engine after Stop go nowhere, but their callbacks still reach the
  // frontend: destroy a frontend only after the engine has stopped (its
  // schedulers drained). Idempotent.
  virtual void Stop() = 0;
};

}  // namespace infergate::engine
