#include "frontends/mqtt/mqtt_client.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>

namespace infergate::mqtt {
namespace {

core::Status MosqError(std::string_view what, int rc) {
  std::string m = std::string(what) + ": " + mosquitto_strerror(rc);
  switch (rc) {
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
      return core::InvalidArgument(std::move(m));
    case MOSQ_ERR_NOMEM:
      return core::ResourceExhausted(std::move(m));
    case MOSQ_ERR_NOT_SUPPORTED:
      return core::Unimplemented(std::move(m));
    default:
      return core::Unavailable(std::move(m));
  }
}

// Properties are owned by this list and freed with it.
class PropertyList {
 public:
  ~PropertyList() { mosquitto_property_free_all(&list_); }
  mosquitto_property** out() { return &list_; }
  const mosquitto_property* get() const { return list_; }

 private:
  mosquitto_property* list_ = nullptr;
};

std::optional<std::string> ReadBinary(const mosquitto_property* props, int id) {
  void* value = nullptr;
  uint16_t len = 0;
  if (!mosquitto_property_read_binary(props, id, &value, &len, false)) return std::nullopt;
  std::string out(static_cast<const char*>(value), len);
  free(value);
  return out;
}

std::string ReadString(const mosquitto_property* props, int id) {
  char* value = nullptr;
  if (!mosquitto_property_read_string(props, id, &value, false) || !value) return "";
  std::string out(value);
  free(value);
  return out;
}

}  // namespace

core::StatusOr<std::unique_ptr<MqttClient>> MqttClient::Create(ClientOptions options,
                                                             MqttClientListener* listener) {
  mosquitto_lib_init();  // idempotent; libmosquitto's own process set-up
  if (options.client_id.empty()) return core::InvalidArgument("mqtt: empty client id");
  struct mosquitto* mosq = mosquitto_new(options.client_id.c_str(), options.clean_session, nullptr);
  if (!mosq) return core::ResourceExhausted("mqtt: cannot create a libmosquitto client");
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    mosquitto_destroy(mosq);
    return core::Internal("mqtt: eventfd failed");
  }
  std::unique_ptr<MqttClient> client(new MqttClient(std::move(options), listener, mosq, wake_fd));
  RETURN_IF_ERROR(client->Configure());
  return client;
}

MqttClient::MqttClient(ClientOptions options, MqttClientListener* listener, struct mosquitto* mosq,
                       int wake_fd)
    : options_(std::move(options)),
      listener_(listener),
      mosq_(mosq),
      wake_fd_(wake_fd),
      backoff_(options_.clock, options_.reconnect_min, options_.reconnect_max) {}

MqttClient::~MqttClient() {
  Stop(std::chrono::seconds(0));
  mosquitto_destroy(mosq_);
  close(wake_fd_);
}

core::Status MqttClient::Configure() {
  mosquitto_user_data_set(mosq_, this);
  // The network thread is ours: publishes from other threads only queue.
  mosquitto_threaded_set(mosq_, true);
  int version = options_.mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
  if (int rc = mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, version)) {
    return MosqError("mqtt: protocol version", rc);
  }
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  if (!options_.username.empty()) {
    const char* pw = options_.password.empty() ? nullptr : options_.password.c_str();
    if (int rc = mosquitto_username_pw_set(mosq_, options_.username.c_str(), pw)) {
      return MosqError("mqtt: username", rc);
    }
  }
  if (options_.broker.tls) {
    if (options_.tls_ca_file.empty()) {
      mosquitto_int_option(mosq_, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    }
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    int rc = mosquitto_tls_set(mosq_, opt(options_.tls_ca_file), nullptr, opt(options_.tls_cert_file),
                               opt(options_.tls_key_file), nullptr);
    if (rc) return MosqError("mqtt: TLS files (ca_file, cert_file, key_file)", rc);
    if (options_.tls_insecure) mosquitto_tls_insecure_set(mosq_, true);
  }
  if (!options_.status_topic.empty()) {
    int rc = mosquitto_will_set_v5(mosq_, options_.status_topic.c_str(), 7, "offline", 1, true, nullptr);
    if (rc) return MosqError("mqtt: last will", rc);
  }
  mosquitto_connect_v5_callback_set(mosq_, &MqttClient::OnConnect);
  mosquitto_disconnect_v5_callback_set(mosq_, &MqttClient::OnDisconnect);
  mosquitto_message_v5_callback_set(mosq_, &MqttClient::OnMessage);
  mosquitto_subscribe_v5_callback_set(mosq_, &MqttClient::OnSubscribe);
  mosquitto_publish_v5_callback_set(mosq_, &MqttClient::OnPublish);
  mosquitto_log_callback_set(mosq_, &MqttClient::OnLog);
  return core::Status::Ok();
}

void MqttClient::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void MqttClient::Stop(core::Duration flush) {
  if (!thread_.joinable()) return;
  flush_limit_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(flush).count();
  stop_ = true;
  Wake();
  thread_.join();
}

void MqttClient::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;  // a full counter still wakes the thread
}

void MqttClient::SetReadPaused(bool paused) {
  if (paused_.exchange(paused) != paused && !paused) Wake();
}

core::Status MqttClient::Publish(const OutgoingMessage& m) {
  PropertyList props;
  if (options_.mqtt5) {
    if (m.correlation_data) {
      mosquitto_property_add_binary(props.out(), MQTT_PROP_CORRELATION_DATA, m.correlation_data->data(),
                                    static_cast<uint16_t>(m.correlation_data->size()));
    }
    if (!m.content_type.empty()) {
      mosquitto_property_add_string(props.out(), MQTT_PROP_CONTENT_TYPE, m.content_type.c_str());
    }
    for (const auto& [k, v] : m.user_properties) {
      mosquitto_property_add_string_pair(props.out(), MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str());
    }
  }
  int mid = 0;
  {
    // Held across the call so OnPublish cannot see the mid before it is recorded.
    std::lock_guard lock(pub_mu_);
    int rc = mosquitto_publish_v5(mosq_, &mid, m.topic.c_str(), static_cast<int>(m.payload.size()),
                                  m.payload.data(), m.qos, m.retain, props.get());
    if (rc != MOSQ_ERR_SUCCESS) return MosqError("mqtt: publish to '" + m.topic + "'", rc);
    if (m.qos > 0) unacked_.insert(mid);
  }
  Wake();
  return core::Status::Ok();
}

core::Status MqttClient::Subscribe(const std::string& filter, int qos) {
  int mid = 0;
  std::lock_guard lock(sub_mu_);
  int rc = mosquitto_subscribe_v5(mosq_, &mid, filter.c_str(), qos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return MosqError("mqtt: subscribe to '" + filter + "'", rc);
  pending_subscriptions_[mid] = filter;
  return core::Status::Ok();
}

void MqttClient::Loop() {
  while (!stop_) {
    if (!socket_open_ && !ConnectOnce()) continue;
    Service(1000);
    listener_->OnIdle();
  }
  if (socket_open_) {
    paused_ = false;  // acknowledgements must be read while flushing
    PublishStatus("offline");
    Flush(std::chrono::nanoseconds(flush_limit_ns_.load()));
    mosquitto_disconnect_v5(mosq_, 0, nullptr);
    for (int i = 0; i < 100 && mosquitto_want_write(mosq_); ++i) {
      if (mosquitto_loop_write(mosq_, 1) != MOSQ_ERR_SUCCESS) break;
    }
    socket_open_ = false;
    connected_ = false;
  }
}

// Connects when the back-off allows; otherwise waits (woken by Stop).
bool MqttClient::ConnectOnce() {
  if (!backoff_.Due()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.Remaining()).count();
    pollfd p{wake_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(ms, 1))) > 0) {
      uint64_t v;
      ssize_t n = read(wake_fd_, &v, sizeof(v));
      (void)n;
    }
    return false;
  }
  int rc;
  if (!ever_connected_) {
    PropertyList props;
    if (options_.mqtt5 && !options_.clean_session && options_.session_expiry_secs > 0) {
      mosquitto_property_add_int32(props.out(), MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                   options_.session_expiry_secs);
    }
    rc = mosquitto_connect_bind_v5(mosq_, options_.broker.host.c_str(), options_.broker.port,
                                   options_.keepalive_secs, nullptr, props.get());
  } else {
    rc = mosquitto_reconnect(mosq_);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    auto d = backoff_.Failed();
    spdlog::warn("mqtt: cannot connect to {}: {}; retrying in {:.1f} s", options_.broker.ToString(),
                 mosquitto_strerror(rc), std::chrono::duration<double>(d).count());
    return false;
  }
  ever_connected_ = true;
  socket_open_ = true;
  return true;
}

void MqttClient::Service(int timeout_ms) {
  int sock = mosquitto_socket(mosq_);
  if (sock < 0) {
    ConnectionLost(MOSQ_ERR_NO_CONN);
    return;
  }
  pollfd fds[2] = {{sock, 0, 0}, {wake_fd_, POLLIN, 0}};
  if (!paused_) fds[0].events |= POLLIN;
  if (mosquitto_want_write(mosq_)) fds[0].events |= POLLOUT;
  if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
    ConnectionLost(MOSQ_ERR_ERRNO);
    return;
  }
  if (fds[1].revents & POLLIN) {
    uint64_t v;
    ssize_t n = read(wake_fd_, &v, sizeof(v));
    (void)n;
  }
  int rc = MOSQ_ERR_SUCCESS;
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) rc = mosquitto_loop_read(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq_)) rc = mosquitto_loop_write(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) ConnectionLost(rc);
}

void MqttClient::ConnectionLost(int rc) {
  socket_open_ = false;
  bool was_connected = connected_.exchange(false);
  auto d = backoff_.Failed();
  spdlog::warn("mqtt: connection to {} lost: {}; reconnecting in {:.1f} s", options_.broker.ToString(),
               mosquitto_strerror(rc), std::chrono::duration<double>(d).count());
  if (was_connected) listener_->OnDisconnected();
}

void MqttClient::PublishStatus(const std::string& payload) {
  if (options_.status_topic.empty()) return;
  OutgoingMessage m{options_.status_topic, payload, 1, true, std::nullopt, "", {}};
  if (auto st = Publish(m); !st.ok()) spdlog::warn("{}", st.message());
}

// Writes what is queued and waits for acknowledgements of QoS 1/2 publishes.
void MqttClient::Flush(core::Duration limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  auto pending = [this] {
    std::lock_guard lock(pub_mu_);
    return !unacked_.empty() || mosquitto_want_write(mosq_);
  };
  while (socket_open_ && pending() && std::chrono::steady_clock::now() < end) {
    Service(50);
  }
}

void MqttClient::OnConnect(struct mosquitto*, void* self, int rc, int flags, const mqtt5__property* props) {
  auto* c = static_cast<MqttClient*>(self);
  uint32_t max_packet = 0;
  if (props) mosquitto_property_read_int32(props, MQTT_PROP_MAXIMUM_PACKET_SIZE, &max_packet, false);
  c->max_packet_size_ = max_packet;
  if (rc != 0) {
    spdlog::error("mqtt: {} refused the connection: {}", c->options_.broker.ToString(),
                  c->options_.mqtt5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
    return;
  }
  c->backoff_.Succeeded();
  c->connected_ = true;
  spdlog::info("mqtt: connected to {} as {}", c->options_.broker.ToString(), c->options_.client_id);
  c->PublishStatus("online");
  c->listener_->OnConnected((flags & 1) != 0);
}

void MqttClient::OnDisconnect(struct mosquitto*, void*, int, const mqtt5__property*) {}

void MqttClient::OnMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg,
                           const mqtt5__property* props) {
  auto* c = static_cast<MqttClient*>(self);
  IncomingMessage m;
  m.topic = msg->topic ? msg->topic : "";
  auto payload = std::make_shared<std::string>();
  payload->reserve(static_cast<size_t>(msg->payloadlen) + 64);  // lets the JSON parser work in place
  payload->assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  m.payload = std::move(payload);
  m.qos = msg->qos;
  m.retain = msg->retain;
  if (props) {
    m.response_topic = ReadString(props, MQTT_PROP_RESPONSE_TOPIC);
    m.correlation_data = ReadBinary(props, MQTT_PROP_CORRELATION_DATA);
    uint32_t expiry = 0;
    if (mosquitto_property_read_int32(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &expiry, false)) {
      m.expiry_secs = expiry;
    }
  }
  c->listener_->OnMessage(std::move(m));
}

void MqttClient::OnSubscribe(struct mosquitto*, void* self, int mid, int count, const int* granted,
                             const mqtt5__property*) {
  auto* c = static_cast<MqttClient*>(self);
  std::string filter;
  {
    std::lock_guard lock(c->sub_mu_);
    auto it = c->pending_subscriptions_.find(mid);
    if (it == c->pending_subscriptions_.end()) return;
    filter = std::move(it->second);
    c->pending_subscriptions_.erase(it);
  }
  if (count < 1 || granted[0] >= 0x80) {
    spdlog::error("mqtt: the broker refused the subscription to {}", filter);
    return;
  }
  spdlog::info("mqtt: subscribed to {} (QoS {})", filter, granted[0]);
}

void MqttClient::OnPublish(struct mosquitto*, void* self, int mid, int, const mqtt5__property*) {
  auto* c = static_cast<MqttClient*>(self);
  std::lock_guard lock(c->pub_mu_);
  c->unacked_.erase(mid);
}

void MqttClient::OnLog(struct mosquitto*, void*, int level, const char* text) {
  if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) spdlog::debug("mqtt: libmosquitto: {}", text);
}

}  // namespace infergate::mqtt
