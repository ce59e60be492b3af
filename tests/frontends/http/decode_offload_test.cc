// Large /infer bodies are decoded off the IO threads: an inference service
// that records the thread each request is submitted from (the thread that
// decoded it) sees small bodies come from the IO thread and large ones from
// the decode worker; with the worker's queue full a large body gets 503 and
// is counted.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frontends/http/http_server.h"
#include "testing/http_client.h"

namespace infergate::http {
namespace {

// Answers every request at once (no outputs), noting the submitting thread.
class RecordingInference : public core::InferenceService {
 public:
  void Submit(std::unique_ptr<core::InferRequest> request) override {
    {
      std::lock_guard lock(mu_);
      threads_.push_back(std::this_thread::get_id());
    }
    auto response = std::make_unique<core::InferResponse>();
    response->model_name = request->model_name;
    request->on_complete(std::move(response));
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::vector<std::thread::id> threads_;
};

// An /infer body with one FP32 input of `n` elements (~2n bytes of JSON).
std::string Body(size_t n) {
  std::string data;
  for (size_t i = 0; i < n; ++i) data += i ? ",1" : "1";
  return R"({"inputs":[{"name":"x","shape":[)" + std::to_string(n) + R"(],"datatype":"FP32","data":[)" + data + "]}]}";
}

class DecodeOffloadTest : public ::testing::Test {
 protected:
  void Serve(size_t max_queued) {
    HttpOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.decode_offload_bytes = 64 << 10;
    options.max_queued_decodes = max_queued;
    HttpDeps deps;
    deps.inference = &inference_;
    deps.metrics = &metrics_;
    auto server = HttpServer::Create(options, deps);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
  }

  core::MetricsRegistry metrics_;
  RecordingInference inference_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(DecodeOffloadTest, LargeBodiesAreDecodedOffTheIoThread) {
  Serve(8);
  testing::CurlClient client("http://127.0.0.1:" + std::to_string(server_->port()));
  ASSERT_EQ(client.Post("/v2/models/m/infer", Body(4)).status, 200);
  ASSERT_EQ(client.Post("/v2/models/m/infer", Body(100000)).status, 200);
  ASSERT_EQ(client.Post("/v2/models/m/infer", Body(4)).status, 200);
  const auto threads = inference_.threads();
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_EQ(threads[0], threads[2]) << "small bodies: the IO thread";
  EXPECT_NE(threads[1], threads[0]) << "the large body was decoded on the IO thread";
}

TEST_F(DecodeOffloadTest, AFullDecodeQueueAnswers503AndCounts) {
  Serve(0);  // every large body finds the queue full
  testing::CurlClient client("http://127.0.0.1:" + std::to_string(server_->port()));
  const auto r = client.Post("/v2/models/m/infer", Body(100000));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("decoded"), std::string::npos) << r.body;
  EXPECT_EQ(metrics_.GetCounter("infergate_http_requests_rejected_total", "", {{"reason", "decode_queue_full"}}).value(),
            1);
  EXPECT_EQ(client.Post("/v2/models/m/infer", Body(4)).status, 200);  // small ones still go
}

}  // namespace
}  // namespace infergate::http
