// Authentication end to end: the real binary with a tokens file; every scope
// and model combination over HTTP and gRPC, the challenge, the failure
// counters, the open health probes and a log without tokens.
#include <gtest/gtest.h>

#include <functional>

#include "testing/auth_server.h"
#include "testing/http_client.h"
#include "testing/shm_object.h"

namespace infergate {
namespace {

using testing::AuthContext;
using testing::AuthServer;
using testing::CurlClient;
using testing::TokenEntry;

enum class Class { kOpen, kInfer, kRead, kAdmin, kLocalAdmin };
enum class Want { kOk, kUnauthenticated, kDenied };

struct Token {
  std::string label;
  std::string value;  // empty: no Authorization at all
  bool known;
  bool infer, read, admin;
  std::string glob_prefix;  // non-empty: only models starting with it
};

const Token kTokens[] = {
    {"none", "", false, false, false, false, ""},
    {"bogus", "not-a-token-of-the-file", false, false, false, false, ""},
    {"infer", "tok-infer-0123456789", true, true, false, false, ""},
    {"read", "tok-read-0123456789", true, false, true, false, ""},
    {"admin", "tok-admin-0123456789", true, false, false, true, ""},
    {"vib", "tok-vib-0123456789", true, true, true, true, "vib"},
};

std::string TokensFile() {
  return TokenEntry("inf", kTokens[2].value, "infer") + TokenEntry("rd", kTokens[3].value, "read") +
         TokenEntry("adm", kTokens[4].value, "admin") +
         TokenEntry("vib", kTokens[5].value, "infer, read, admin", "\"vib*\"");
}

Want Expected(const Token& t, Class c, const std::string& model) {
  if (c == Class::kOpen) return Want::kOk;
  if (!t.known) return Want::kUnauthenticated;
  const bool scope = c == Class::kInfer ? t.infer : c == Class::kRead ? t.read : t.admin;
  if (!scope) return Want::kDenied;
  if (!model.empty() && !t.glob_prefix.empty() && model.rfind(t.glob_prefix, 0) != 0)
    return Want::kDenied;
  return Want::kOk;
}

const char* kInferBody =
    R"({"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"FP32","data":[1,2]}]})";

class AuthE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<AuthServer>(TokensFile());
    ASSERT_TRUE(server_->ok()) << server_->process().Output();
    http_ =
        std::make_unique<CurlClient>("http://127.0.0.1:" + std::to_string(server_->http_port()));
    stub_ = server_->Stub();
  }

  static std::vector<std::string> Headers(const Token& t) {
    if (t.value.empty()) return {};
    return {"Authorization: Bearer " + t.value};
  }
  static std::string Metadata(const Token& t) { return t.value.empty() ? "" : "Bearer " + t.value; }

  std::unique_ptr<AuthServer> server_;
  std::unique_ptr<CurlClient> http_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  testing::ShmObject shm_{64};
  int region_ = 0;
};

struct HttpEndpoint {
  std::string name;
  Class cls;
  bool per_model;
  std::function<testing::HttpResult(CurlClient&, const std::vector<std::string>&,
                                    const std::string& model)>
      call;
};

TEST_F(AuthE2ETest, EveryScopeAndModelOverHttp) {
  const std::string key = shm_.key();
  const HttpEndpoint endpoints[] = {
      {"health live", Class::kOpen, false,
       [](auto& c, auto& h, auto&) { return c.Get("/v2/health/live", h); }},
      {"health ready", Class::kOpen, false,
       [](auto& c, auto& h, auto&) { return c.Get("/v2/health/ready", h); }},
      {"infer", Class::kInfer, true,
       [](auto& c, auto& h, auto& m) {
         return c.Post("/v2/models/" + m + "/infer", kInferBody, h);
       }},
      {"server metadata", Class::kRead, false,
       [](auto& c, auto& h, auto&) { return c.Get("/v2", h); }},
      {"model metadata", Class::kRead, true,
       [](auto& c, auto& h, auto& m) { return c.Get("/v2/models/" + m, h); }},
      {"model ready", Class::kRead, true,
       [](auto& c, auto& h, auto& m) { return c.Get("/v2/models/" + m + "/versions/1/ready", h); }},
      {"model config", Class::kRead, true,
       [](auto& c, auto& h, auto& m) { return c.Get("/v2/models/" + m + "/config", h); }},
      {"model stats", Class::kRead, true,
       [](auto& c, auto& h, auto& m) { return c.Get("/v2/models/" + m + "/stats", h); }},
      {"all stats", Class::kRead, false,
       [](auto& c, auto& h, auto&) { return c.Get("/v2/models/stats", h); }},
      {"index", Class::kRead, false,
       [](auto& c, auto& h, auto&) { return c.Post("/v2/repository/index", "{}", h); }},
      {"metrics", Class::kRead, false,
       [](auto& c, auto& h, auto&) { return c.Get("/metrics", h); }},
      {"load", Class::kAdmin, true,
       [](auto& c, auto& h, auto& m) {
         return c.Post("/v2/repository/models/" + m + "/load", "", h);
       }},
      {"shm status", Class::kAdmin, false,
       [](auto& c, auto& h, auto&) { return c.Get("/v2/systemsharedmemory/status", h); }},
      {"shm unregister", Class::kAdmin, false,
       [](auto& c, auto& h, auto&) { return c.Post("/v2/systemsharedmemory/unregister", "", h); }},
      {"shm register", Class::kLocalAdmin, false,
       [this, key](auto& c, auto& h, auto&) {
         return c.Post("/v2/systemsharedmemory/region/r" + std::to_string(++region_) + "/register",
                       R"({"key":")" + key + R"(","offset":0,"byte_size":64})", h);
       }},
  };
  int checked = 0;
  for (const Token& t : kTokens) {
    for (const auto& e : endpoints) {
      for (const std::string model : {"vib_a", "pump_b"}) {
        if (!e.per_model && model != "vib_a") continue;
        SCOPED_TRACE("token " + t.label + ", " + e.name + (e.per_model ? " " + model : ""));
        auto r = e.call(*http_, Headers(t), model);
        const Want want = Expected(t, e.cls, e.per_model ? model : "");
        ++checked;
        if (want == Want::kOk) {
          EXPECT_EQ(r.status, 200) << r.body;
        } else if (want == Want::kUnauthenticated) {
          EXPECT_EQ(r.status, 401) << r.body;
          EXPECT_EQ(r.headers["www-authenticate"],
                    t.value.empty() ? "Bearer realm=\"infergate\""
                                    : "Bearer realm=\"infergate\", error=\"invalid_token\"");
          EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
        } else {
          EXPECT_EQ(r.status, 403) << r.body;
          EXPECT_TRUE(r.body.find("lacks scope") != std::string::npos ||
                      r.body.find("may not use model '" + model + "'") != std::string::npos)
              << r.body;
          EXPECT_EQ(r.headers.count("www-authenticate"), 0u);
        }
        EXPECT_EQ(r.body.find(t.value.empty() ? "\x01" : t.value), std::string::npos)
            << "the token is never echoed";
      }
    }
  }
  EXPECT_GT(checked, 100);
}

struct GrpcEndpoint {
  std::string name;
  Class cls;
  bool per_model;
  std::function<::grpc::Status(inference::GRPCInferenceService::Stub&, ::grpc::ClientContext*,
                               const std::string&)>
      call;
};

template <typename Req, typename Resp>
using Method = ::grpc::Status (inference::GRPCInferenceService::Stub::*)(::grpc::ClientContext*,
                                                                         const Req&, Resp*);

template <typename Req, typename Resp>
::grpc::Status Call(inference::GRPCInferenceService::Stub& s, ::grpc::ClientContext* c,
                    Method<Req, Resp> m, const Req& req) {
  Resp resp;
  return (s.*m)(c, req, &resp);
}

inference::ModelInferRequest InferRequest(const std::string& model) {
  inference::ModelInferRequest req;
  req.set_model_name(model);
  auto* in = req.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  in->add_shape(2);
  in->mutable_contents()->add_fp32_contents(1);
  in->mutable_contents()->add_fp32_contents(2);
  return req;
}

TEST_F(AuthE2ETest, EveryScopeAndModelOverGrpc) {
  using S = inference::GRPCInferenceService::Stub;
  namespace inf = inference;
  const std::string key = shm_.key();
  auto named = [](auto req, const std::string& m) {
    req.set_name(m);
    return req;
  };
  const GrpcEndpoint endpoints[] = {
      {"ServerLive", Class::kOpen, false,
       [](S& s, auto* c, auto&) { return Call(s, c, &S::ServerLive, inf::ServerLiveRequest()); }},
      {"ServerReady", Class::kOpen, false,
       [](S& s, auto* c, auto&) { return Call(s, c, &S::ServerReady, inf::ServerReadyRequest()); }},
      {"ModelInfer", Class::kInfer, true,
       [](S& s, auto* c, auto& m) { return Call(s, c, &S::ModelInfer, InferRequest(m)); }},
      {"ServerMetadata", Class::kRead, false,
       [](S& s, auto* c, auto&) {
         return Call(s, c, &S::ServerMetadata, inf::ServerMetadataRequest());
       }},
      {"ModelMetadata", Class::kRead, true,
       [&](S& s, auto* c, auto& m) {
         return Call(s, c, &S::ModelMetadata, named(inf::ModelMetadataRequest(), m));
       }},
      {"ModelReady", Class::kRead, true,
       [&](S& s, auto* c, auto& m) {
         return Call(s, c, &S::ModelReady, named(inf::ModelReadyRequest(), m));
       }},
      {"ModelConfig", Class::kRead, true,
       [&](S& s, auto* c, auto& m) {
         return Call(s, c, &S::ModelConfig, named(inf::ModelConfigRequest(), m));
       }},
      {"ModelStatistics", Class::kRead, true,
       [&](S& s, auto* c, auto& m) {
         return Call(s, c, &S::ModelStatistics, named(inf::ModelStatisticsRequest(), m));
       }},
      {"RepositoryIndex", Class::kRead, false,
       [](S& s, auto* c, auto&) {
         return Call(s, c, &S::RepositoryIndex, inf::RepositoryIndexRequest());
       }},
      {"RepositoryModelLoad", Class::kAdmin, true,
       [](S& s, auto* c, auto& m) {
         inf::RepositoryModelLoadRequest req;
         req.set_model_name(m);
         return Call(s, c, &S::RepositoryModelLoad, req);
       }},
      {"RepositoryModelUnload", Class::kAdmin, true,
       [](S& s, auto* c, auto& m) {
         // A model not in the repository: admitted, then NOT_FOUND (nothing unloaded).
         inf::RepositoryModelUnloadRequest req;
         req.set_model_name(m + "_absent");
         return Call(s, c, &S::RepositoryModelUnload, req);
       }},
      {"SystemSharedMemoryStatus", Class::kAdmin, false,
       [](S& s, auto* c, auto&) {
         return Call(s, c, &S::SystemSharedMemoryStatus, inf::SystemSharedMemoryStatusRequest());
       }},
      {"SystemSharedMemoryUnregister", Class::kAdmin, false,
       [](S& s, auto* c, auto&) {
         return Call(s, c, &S::SystemSharedMemoryUnregister,
                     inf::SystemSharedMemoryUnregisterRequest());
       }},
      {"SystemSharedMemoryRegister", Class::kLocalAdmin, false,
       [this, key](S& s, auto* c, auto&) {
         inf::SystemSharedMemoryRegisterRequest req;
         req.set_name("g" + std::to_string(++region_));
         req.set_key(key);
         req.set_byte_size(64);
         return Call(s, c, &S::SystemSharedMemoryRegister, req);
       }},
  };
  for (const Token& t : kTokens) {
    for (const auto& e : endpoints) {
      for (const std::string model : {"vib_a", "pump_b"}) {
        if (!e.per_model && model != "vib_a") continue;
        SCOPED_TRACE("token " + t.label + ", " + e.name + (e.per_model ? " " + model : ""));
        auto context = AuthContext(Metadata(t));
        const ::grpc::Status st = e.call(*stub_, context.get(), model);
        std::string model_for_policy = e.per_model ? model : "";
        if (e.name == "RepositoryModelUnload") model_for_policy += "_absent";
        switch (Expected(t, e.cls, model_for_policy)) {
          case Want::kOk:
            if (e.name == "RepositoryModelUnload") {
              EXPECT_EQ(st.error_code(), ::grpc::StatusCode::NOT_FOUND) << st.error_message();
            } else {
              EXPECT_TRUE(st.ok()) << st.error_message();
            }
            break;
          case Want::kUnauthenticated:
            EXPECT_EQ(st.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
            break;
          case Want::kDenied:
            EXPECT_EQ(st.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
            EXPECT_TRUE(st.error_message().find("lacks scope") != std::string::npos ||
                        st.error_message().find("may not use model") != std::string::npos)
                << st.error_message();
            break;
        }
        if (!t.value.empty()) {
          EXPECT_EQ(st.error_message().find(t.value), std::string::npos);
        }
      }
    }
  }
}

TEST_F(AuthE2ETest, StreamInferIsCheckedPerCallAndPerMessage) {
  {
    auto context = AuthContext(Metadata(kTokens[3]));  // read only
    auto stream = stub_->ModelStreamInfer(context.get());
    stream->WritesDone();
    inference::ModelStreamInferResponse r;
    EXPECT_FALSE(stream->Read(&r));
    EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto context = AuthContext("");
    auto stream = stub_->ModelStreamInfer(context.get());
    stream->WritesDone();
    inference::ModelStreamInferResponse r;
    EXPECT_FALSE(stream->Read(&r));
    EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  }
  auto context = AuthContext(Metadata(kTokens[5]));  // vib*
  auto stream = stub_->ModelStreamInfer(context.get());
  ASSERT_TRUE(stream->Write(InferRequest("pump_b")));
  inference::ModelStreamInferResponse denied;
  ASSERT_TRUE(stream->Read(&denied));
  EXPECT_NE(denied.error_message().find("may not use model 'pump_b'"), std::string::npos)
      << denied.error_message();
  ASSERT_TRUE(stream->Write(InferRequest("vib_a")));
  inference::ModelStreamInferResponse served;
  ASSERT_TRUE(stream->Read(&served));
  EXPECT_EQ(served.error_message(), "");
  EXPECT_EQ(served.infer_response().model_name(), "vib_a");
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AuthE2ETest, ListsShowOnlyTheTokensModels) {
  const auto vib = Headers(kTokens[5]);
  const auto index = http_->Post("/v2/repository/index", "{}", vib);
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_NE(index.body.find("vib_a"), std::string::npos) << index.body;
  EXPECT_EQ(index.body.find("pump_b"), std::string::npos) << index.body;
  const auto stats = http_->Get("/v2/models/stats", vib);
  ASSERT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find("vib_a"), std::string::npos) << stats.body;
  EXPECT_EQ(stats.body.find("pump_b"), std::string::npos) << stats.body;
  EXPECT_NE(http_->Post("/v2/repository/index", "{}", Headers(kTokens[3])).body.find("pump_b"),
            std::string::npos);

  auto context = AuthContext(Metadata(kTokens[5]));
  inference::RepositoryIndexResponse grpc_index;
  ASSERT_TRUE(stub_->RepositoryIndex(context.get(), {}, &grpc_index).ok());
  ASSERT_EQ(grpc_index.models_size(), 1);
  EXPECT_EQ(grpc_index.models(0).name(), "vib_a");
  auto stats_context = AuthContext(Metadata(kTokens[5]));
  inference::ModelStatisticsResponse grpc_stats;
  ASSERT_TRUE(stub_->ModelStatistics(stats_context.get(), {}, &grpc_stats).ok());
  ASSERT_EQ(grpc_stats.model_stats_size(), 1);
  EXPECT_EQ(grpc_stats.model_stats(0).name(), "vib_a");
}

TEST_F(AuthE2ETest, FailuresAreCountedAndTokensNeverLogged) {
  http_->Get("/v2");                                                         // missing
  http_->Get("/v2", Headers(kTokens[1]));                                    // invalid
  http_->Get("/v2", {"Authorization: Bearer " + std::string(10000, 'x')});   // over-long: invalid
  http_->Get("/v2", {"Authorization: Basic dXNlcjpwYXNz"});                  // malformed: invalid
  http_->Post("/v2/repository/models/vib_a/load", "", Headers(kTokens[2]));  // scope
  http_->Post("/v2/models/pump_b/infer", kInferBody, Headers(kTokens[5]));   // model
  auto context = AuthContext("Bearer nope");
  inference::ServerMetadataResponse meta;
  EXPECT_EQ(stub_->ServerMetadata(context.get(), {}, &meta).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);

  const auto metrics = http_->Get("/metrics", Headers(kTokens[3]));
  ASSERT_EQ(metrics.status, 200);
  for (const char* line : {R"(infergate_auth_failures_total{frontend="http",reason="missing"} 1)",
                           R"(infergate_auth_failures_total{frontend="http",reason="invalid"} 3)",
                           R"(infergate_auth_failures_total{frontend="http",reason="scope"} 1)",
                           R"(infergate_auth_failures_total{frontend="http",reason="model"} 1)",
                           R"(infergate_auth_failures_total{frontend="grpc",reason="invalid"} 1)",
                           R"(infergate_auth_tokens 4)"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
  // The health probes answer without a token.
  EXPECT_EQ(http_->Get("/v2/health/live").status, 200);
  EXPECT_EQ(http_->Get("/v2/health/ready").status, 200);

  const int code = server_->process().Stop();
  EXPECT_EQ(code, 0);
  const std::string& log = server_->process().Output();
  for (const Token& t : kTokens) {
    if (!t.value.empty()) {
      EXPECT_EQ(log.find(t.value), std::string::npos) << t.label << " in the log:\n" << log;
    }
  }
  EXPECT_EQ(log.find("xxxxxxxxxx"), std::string::npos);
  EXPECT_EQ(log.find("dXNlcjpwYXNz"), std::string::npos);
}

}  // namespace
}  // namespace infergate
