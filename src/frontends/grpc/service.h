// inference.GRPCInferenceService: the methods of the KServe v2 gRPC protocol
// and Triton's extensions, served on H2Connection (h2_connection.h).
//
// Unary handlers answer on the connection's thread, except ModelInfer
// (answered from the request's on_complete, on a scheduler thread: the reply
// is encoded there) and the repository load/unload calls (answered from the
// engine's ModelControl worker thread). ModelStreamInfer is an InferStream (stream.h).
//
// The SystemSharedMemory* calls answer on the connection's thread too: a
// register is shm_open, fstat and mmap of a tmpfs object, an unregister at
// most a munmap, a status a copy of a small map; none waits on a disk or a
// peer, so they cost an IO thread microseconds. On the repository worker they
// would queue behind model loads (seconds) and could be refused when 16 of
// those wait, for no gain.
//
// Thread-safety: the MethodTable methods are called on connection threads;
// the service keeps no per-call state of its own.
#pragma once

#include <map>
#include <string>

#include "frontends/grpc/context.h"
#include "frontends/grpc/h2_connection.h"

namespace infergate::grpc_frontend {

class Service final : public MethodTable {
 public:
  explicit Service(FrontendContext* context);

  Kind Find(std::string_view path) const override;
  // The access policy's verdict on the call (what its method needs), before
  // its message is read: UNAUTHENTICATED or PERMISSION_DENIED when refused.
  core::Status Admit(CallInfo* info) override;
  void OnUnary(const CallInfo& info, std::string message, Responder responder) override;
  std::shared_ptr<StreamHandler> OnStream(const CallInfo& info, Responder responder) override;
  void OnRefused(const core::Status& status) override;
  void OnProtocolError(std::string_view what) override;
  void OnClosed(CloseReason reason) override;

 private:
  using Handler = void (Service::*)(const CallInfo&, const std::string&, const Responder&);
  struct Method {
    Handler handler;
    auth::Access access;
  };

  // False, and the call answered PERMISSION_DENIED, when the call's grant
  // does not cover `model`.
  bool AllowModel(const CallInfo& info, const std::string& model, const Responder& r);

  void ServerLive(const CallInfo&, const std::string& message, const Responder& r);
  void ServerReady(const CallInfo&, const std::string& message, const Responder& r);
  void ModelReady(const CallInfo&, const std::string& message, const Responder& r);
  void ServerMetadata(const CallInfo&, const std::string& message, const Responder& r);
  void ModelMetadata(const CallInfo&, const std::string& message, const Responder& r);
  void ModelInfer(const CallInfo& info, const std::string& message, const Responder& r);
  void ModelConfig(const CallInfo&, const std::string& message, const Responder& r);
  void ModelStatistics(const CallInfo&, const std::string& message, const Responder& r);
  void RepositoryIndex(const CallInfo&, const std::string& message, const Responder& r);
  void RepositoryModelLoad(const CallInfo&, const std::string& message, const Responder& r);
  void RepositoryModelUnload(const CallInfo&, const std::string& message, const Responder& r);
  void SystemSharedMemoryStatus(const CallInfo&, const std::string& message, const Responder& r);
  void SystemSharedMemoryRegister(const CallInfo&, const std::string& message, const Responder& r);
  void SystemSharedMemoryUnregister(const CallInfo&, const std::string& message, const Responder& r);
  // Answers a SystemSharedMemory* call with `status`, counting a refusal.
  void FinishSharedMemory(const Responder& r, const core::Status& status);

  // Loads or unloads `model` through the engine's ModelControl (its policy,
  // its worker thread) and answers the call with the status.
  void RunAdmin(const Responder& r, std::string model, bool load);

  FrontendContext* ctx_;
  std::map<std::string, Method, std::less<>> unary_;
};

}  // namespace infergate::grpc_frontend
