#include "backends/remote/http_client.h"

#include <boost/asio/ssl/context.hpp>

#include <cstring>

#include "backends/remote/http_connection.h"
#include "backends/remote/remote_status.h"
#include "backends/remote/v2_json_client.h"

namespace infergate::remote {
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;

namespace {

using core::Status;
using core::StatusOr;

// Percent-encodes a path segment (a model name may hold any character).
std::string PathSegment(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StatusOr<std::unique_ptr<ssl::context>> TlsContext(const RemoteTarget& t) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (t.ca_pem.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->add_certificate_authority(boost::asio::buffer(t.ca_pem), ec);
  }
  if (ec) return core::Unavailable("remote.tls.ca_file cannot be used: " + ec.message());
  return ctx;
}

class HttpClient final : public RemoteClient {
 public:
  HttpClient(RemoteTarget target, std::shared_ptr<HttpPool> pool) : target_(std::move(target)), pool_(std::move(pool)) {
    path_ = target_.url.prefix + "/v2/models/" + PathSegment(target_.model);
    if (!target_.version.empty()) path_ += "/versions/" + PathSegment(target_.version);
  }

  StatusOr<core::ModelSignature> Metadata() override {
    const Deadline deadline = std::chrono::steady_clock::now() + target_.timeout;
    HttpResponse response;
    RETURN_IF_ERROR(Call(http::verb::get, path_, {}, &response, deadline));
    ASSIGN_OR_RETURN(core::ModelSignature signature, DecodeMetadata(response.body()));
    signature.producer_name = "remote " + target_.url_text;
    HttpResponse server;
    binary_ = Call(http::verb::get, target_.url.prefix + "/v2", {}, &server, deadline).ok() &&
              HasBinaryExtension(server.body());
    HttpResponse config;
    if (Call(http::verb::get, path_ + "/config", {}, &config, deadline).ok()) {
      signature.max_batch_size = DecodeMaxBatchSize(config.body());
    }
    return signature;
  }

  Status Infer(const std::vector<core::InferInput>& inputs, const std::vector<std::string>& output_names,
               std::vector<core::InferOutput>* outputs) override {
    const Deadline deadline = std::chrono::steady_clock::now() + target_.timeout;
    ASSIGN_OR_RETURN(EncodedRequest body, EncodeInferRequest(inputs, output_names, binary_));
    auto response = std::make_shared<HttpResponse>();
    RETURN_IF_ERROR(Call(http::verb::post, path_ + "/infer", std::move(body), response.get(), deadline));
    size_t json_length = response->body().size();
    if (auto h = response->find("Inference-Header-Content-Length"); h != response->end()) {
      json_length = std::strtoull(std::string(h->value()).c_str(), nullptr, 10);
    }
    const std::string& text = response->body();
    return DecodeInferResponse(text, json_length, std::shared_ptr<const void>(response, text.data()), outputs);
  }

 private:
  // One exchange; a reused keep-alive connection that the remote had closed
  // is tried once more on a new one. An answer other than 2xx is the
  // remote's error ({"error": "..."}).
  Status Call(http::verb verb, const std::string& target, EncodedRequest body, HttpResponse* response,
              Deadline deadline) {
    HttpRequest request{verb, target, 11};
    request.set(http::field::host, target_.url.Authority());
    request.set(http::field::user_agent, "infergate");
    if (target_.token) request.set(http::field::authorization, "Bearer " + target_.token->Get());
    if (verb == http::verb::post) {
      const bool binary = body.json_length < body.body.size();
      request.set(http::field::content_type, binary ? "application/octet-stream" : "application/json");
      if (binary) request.set("Inference-Header-Content-Length", std::to_string(body.json_length));
      request.body() = std::move(body.body);
      request.prepare_payload();
    }
    ASSIGN_OR_RETURN(auto connection, pool_->Take(deadline));
    Status st = connection->Exchange(request, response, deadline);
    if (!st.ok() && st.code() == core::StatusCode::kUnavailable && connection->used()) {
      pool_->Give(std::move(connection));
      connection = pool_->Fresh();
      st = connection->Exchange(request, response, deadline);
    }
    pool_->Give(std::move(connection));
    RETURN_IF_ERROR(st);
    const int status = static_cast<int>(response->result_int());
    if (status >= 200 && status < 300) return Status::Ok();
    return Status(FromHttpStatus(status), "HTTP " + std::to_string(status) + ": " + ErrorMessage(response->body()));
  }

  const RemoteTarget target_;
  std::shared_ptr<HttpPool> pool_;
  std::string path_;  // {prefix}/v2/models/{model}[/versions/{version}]
  // The remote lists the binary tensor extension: inputs and outputs travel
  // as bytes after the JSON. Set by Metadata, before any Infer.
  bool binary_ = false;
};

}  // namespace

std::shared_ptr<HttpPool> HttpPools::Get(const RemoteTarget& target) {
  const std::string key = target.url.Authority() + (target.url.tls ? "|tls|" + target.ca_pem : "");
  std::lock_guard lock(mu_);
  if (auto pool = pools_[key].lock()) return pool;
  std::unique_ptr<ssl::context> tls;
  if (target.url.tls) {
    auto made = TlsContext(target);
    if (!made.ok()) return nullptr;
    tls = std::move(*made);
  }
  auto pool = std::make_shared<HttpPool>(target.url, std::move(tls), kMaxConnections);
  pools_[key] = pool;
  return pool;
}

StatusOr<std::unique_ptr<RemoteClient>> MakeHttpClient(RemoteTarget target, std::shared_ptr<HttpPool> pool) {
  if (!pool) {
    RETURN_IF_ERROR(TlsContext(target).status());
    return core::Unavailable("no connection pool for the remote");
  }
  return std::unique_ptr<RemoteClient>(new HttpClient(std::move(target), std::move(pool)));
}

}  // namespace infergate::remote
