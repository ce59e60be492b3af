// Test clients for the HTTP frontend.
//
// CurlClient: libcurl, a real HTTP client, as KServe and Triton clients use
// HTTP. One easy handle per client, so consecutive requests reuse the
// connection (keep-alive) like a real client does.
//
// MetricValue: one series' value in a /metrics body.
//
// RawConnection: a plain TCP socket for what no well-behaved client sends
// (slow or truncated uploads, broken framing). Every read waits at most a
// bounded time.
//
// Thread-safety: one object per thread.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace infergate::testing {

struct HttpResult {
  long status = 0;  // 0: no response (error says why)
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;
  long new_connections = 0;  // connections libcurl opened for this request
  std::string peer_subject;  // HTTPS with CurlTls: the server certificate's subject (new connections only)
};

// HTTPS: verify the server against `ca_file`; with cert_file/key_file,
// present that client certificate (mutual TLS).
struct CurlTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// The value of `series` (`name{labels}`, as rendered) in a Prometheus text
// body; -1 when it is absent.
inline double MetricValue(const std::string& body, const std::string& series) {
  auto at = body.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 1));
}

class CurlClient {
 public:
  explicit CurlClient(std::string base_url) : base_(std::move(base_url)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ = curl_easy_init();
  }
  ~CurlClient() { curl_easy_cleanup(curl_); }
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  void SetTls(CurlTls tls) { tls_ = std::move(tls); }

  HttpResult Get(const std::string& path, const std::vector<std::string>& headers = {}) {
    return Perform("GET", path, nullptr, headers);
  }
  HttpResult Post(const std::string& path, const std::string& body,
                  const std::vector<std::string>& headers = {}) {
    return Perform("POST", path, &body, headers);
  }

 private:
  static size_t OnBody(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  static size_t OnHeader(char* data, size_t size, size_t n, void* out) {
    std::string line(data, size * n);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t\r\n") + 1);
      (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
    }
    return size * n;
  }

  HttpResult Perform(const char* method, const std::string& path, const std::string* body,
                     const std::vector<std::string>& headers) {
    HttpResult r;
    curl_easy_reset(curl_);
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlClient::OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &CurlClient::OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    SetTlsOptions();
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    if (body) {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (code != CURLE_OK) {
      r.error = curl_easy_strerror(code);
      return r;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &r.new_connections);
    r.peer_subject = PeerSubject();
    return r;
  }

  void SetTlsOptions() {
    if (tls_.ca_file.empty()) return;
    curl_easy_setopt(curl_, CURLOPT_CAINFO, tls_.ca_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl_, CURLOPT_CERTINFO, 1L);
    if (!tls_.cert_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_SSLCERT, tls_.cert_file.c_str());
      curl_easy_setopt(curl_, CURLOPT_SSLKEY, tls_.key_file.c_str());
    }
  }

  std::string PeerSubject() {
    if (tls_.ca_file.empty()) return {};
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(curl_, CURLINFO_CERTINFO, &info) != CURLE_OK || !info || info->num_of_certs < 1) return {};
    for (curl_slist* e = info->certinfo[0]; e; e = e->next) {
      const std::string field = e->data;
      if (field.rfind("Subject:", 0) == 0) return field.substr(8);
    }
    return {};
  }

  std::string base_;
  CURL* curl_ = nullptr;
  CurlTls tls_;
};

class RawConnection {
 public:
  RawConnection(const std::string& address, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Reads until the peer closes or `timeout` passes; returns what arrived.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout) { return ReadUntil("", timeout); }

  // Reads until what arrived contains `marker` (never, when empty), the peer
  // closes, or `timeout` passes; returns what arrived.
  std::string ReadUntil(const std::string& marker, std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (marker.empty() || out.find(marker) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace infergate::testing
