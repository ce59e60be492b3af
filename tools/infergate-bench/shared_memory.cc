#include "shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cstring>

namespace infergate::bench {
namespace {

using nlohmann::json;

constexpr size_t kAlign = 64;  // each tensor starts on a cache line

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

core::StatusOr<std::unique_ptr<SharedMemoryInputs>> SharedMemoryInputs::Create(PayloadSet* payloads,
                                                                             const std::string& region) {
  if (!payloads->binary) return core::InvalidArgument("--shared-memory needs payloads made with --binary");
  // First pass: the headers and where each tensor goes.
  std::vector<json> headers;
  size_t total = 0;
  try {
    for (const Payload& p : payloads->bodies) {
      json header = json::parse(p.body.substr(0, p.json_length));
      for (auto& input : header.at("inputs")) {
        const size_t n = input.at("parameters").at("binary_data_size").get<size_t>();
        input["parameters"].erase("binary_data_size");
        input["parameters"]["shared_memory_region"] = region;
        input["parameters"]["shared_memory_offset"] = total;
        input["parameters"]["shared_memory_byte_size"] = n;
        total = AlignUp(total + n);
      }
      headers.push_back(std::move(header));
    }
  } catch (const json::exception& e) {
    return core::InvalidArgument(std::string("a binary payload's header: ") + e.what());
  }
  std::unique_ptr<SharedMemoryInputs> shm(new SharedMemoryInputs());
  shm->region_ = region;
  shm->key_ = "/infergate_bench-" + std::to_string(getpid());
  shm->size_ = std::max<size_t>(total, kAlign);
  shm->fd_ = shm_open(shm->key_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (shm->fd_ < 0) return core::Unavailable("shm_open " + shm->key_ + ": " + std::strerror(errno));
  if (ftruncate(shm->fd_, static_cast<off_t>(shm->size_)) != 0) {
    return core::Unavailable("ftruncate " + shm->key_ + ": " + std::strerror(errno));
  }
  shm->data_ = mmap(nullptr, shm->size_, PROT_READ | PROT_WRITE, MAP_SHARED, shm->fd_, 0);
  if (shm->data_ == MAP_FAILED) {
    shm->data_ = nullptr;
    return core::Unavailable("mmap " + shm->key_ + ": " + std::strerror(errno));
  }
  // Second pass: copy each tensor in and replace the body by its JSON alone.
  auto* base = static_cast<uint8_t*>(shm->data_);
  for (size_t i = 0; i < payloads->bodies.size(); ++i) {
    Payload& p = payloads->bodies[i];
    size_t from = p.json_length;
    for (const auto& input : headers[i]["inputs"]) {
      const size_t n = input["parameters"]["shared_memory_byte_size"].get<size_t>();
      const size_t at = input["parameters"]["shared_memory_offset"].get<size_t>();
      std::memcpy(base + at, p.body.data() + from, n);
      from += n;
    }
    p.body = headers[i].dump();
    p.json_length = 0;
  }
  payloads->binary = false;
  return shm;
}

SharedMemoryInputs::~SharedMemoryInputs() {
  if (data_) munmap(data_, size_);
  if (fd_ >= 0) {
    close(fd_);
    shm_unlink(key_.c_str());
  }
}

core::Status SharedMemoryInputs::Register(const std::string& host, const std::string& port) const {
  const json body = {{"key", key_}, {"offset", 0}, {"byte_size", size_}};
  return HttpPost(host, port, "/v2/systemsharedmemory/region/" + region_ + "/register", body.dump());
}

core::Status SharedMemoryInputs::Unregister(const std::string& host, const std::string& port) const {
  return HttpPost(host, port, "/v2/systemsharedmemory/region/" + region_ + "/unregister", "");
}

core::Status HttpPost(const std::string& host, const std::string& port, const std::string& path,
                      const std::string& body) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() != 200) {
      return core::FailedPrecondition("POST " + path + ": HTTP " + std::to_string(res.result_int()) + " " +
                                      res.body());
    }
    return core::Status::Ok();
  } catch (const boost::system::system_error& e) {
    return core::Unavailable("POST " + path + " to " + host + ":" + port + ": " + e.what());
  }
}

}  // namespace infergate::bench
