#include "mqtt_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>

namespace infergate::bench {

core::Status ParseBroker(const std::string& text, std::string* host, int* port) {
  std::string rest = text;
  if (rest.rfind("mqtt://", 0) == 0) rest = rest.substr(7);
  const size_t colon = rest.rfind(':');
  *host = colon == std::string::npos ? rest : rest.substr(0, colon);
  *port = 1883;
  if (colon != std::string::npos) {
    char* end = nullptr;
    const long p = std::strtol(rest.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return core::InvalidArgument("broker '" + text + "': bad port");
    *port = static_cast<int>(p);
  }
  if (host->empty()) return core::InvalidArgument("broker '" + text + "': expected HOST:PORT");
  return core::Status::Ok();
}

core::StatusOr<std::unique_ptr<MqttLoop>> MqttLoop::Create(const MqttOptions& options, Handler* handler) {
  mosquitto_lib_init();  // reference-counted by libmosquitto; safe to repeat
  std::unique_ptr<MqttLoop> loop(new MqttLoop(options, handler));
  loop->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wake_fd_ < 0) return core::Internal("eventfd failed");
  loop->clients_.resize(static_cast<size_t>(std::max(options.clients, 1)));
  for (size_t i = 0; i < loop->clients_.size(); ++i) {
    Client& c = loop->clients_[i];
    c.loop = loop.get();
    c.index = static_cast<int>(i);
    const std::string id = options.client_id_prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(i);
    c.mosq = mosquitto_new(id.c_str(), true, &c);
    if (c.mosq == nullptr) return core::Internal("mosquitto_new failed");
    mosquitto_int_option(c.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(c.mosq, MOSQ_OPT_TCP_NODELAY, 1);
    // Many QoS 1/2 messages in flight per client; the broker's receive
    // maximum still applies.
    mosquitto_int_option(c.mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
    mosquitto_connect_v5_callback_set(c.mosq, &MqttLoop::OnConnect);
    mosquitto_subscribe_v5_callback_set(c.mosq, &MqttLoop::OnSubscribe);
    mosquitto_message_v5_callback_set(c.mosq, &MqttLoop::OnMessageCb);
  }
  return loop;
}

MqttLoop::~MqttLoop() {
  Stop();
  for (auto& c : clients_) {
    if (c.mosq) mosquitto_destroy(c.mosq);
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

core::Status MqttLoop::Start(const std::function<std::vector<std::string>(int)>& filters, int qos) {
  qos_ = qos;
  for (auto& c : clients_) {
    c.filters = filters(c.index);
    // Blocking TCP connect (loopback or LAN); CONNACK is read by the loop.
    const int rc = mosquitto_connect_bind_v5(c.mosq, options_.host.c_str(), options_.port,
                                             options_.keepalive_s, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      return core::Unavailable("cannot connect to " + options_.host + ":" + std::to_string(options_.port) +
                               ": " + mosquitto_strerror(rc));
    }
  }
  {
    std::lock_guard lock(mu_);
    unready_ = size();
  }
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  std::unique_lock lock(mu_);
  if (!start_cv_.wait_for(lock, options_.timeout, [&] { return start_done_; })) {
    lock.unlock();
    Stop();
    return core::DeadlineExceeded("no CONNACK/SUBACK from " + options_.host + ":" +
                                  std::to_string(options_.port) + " in time");
  }
  if (!start_error_.empty()) {
    const std::string error = start_error_;
    lock.unlock();
    Stop();
    return core::Unavailable(error);
  }
  return core::Status::Ok();
}

void MqttLoop::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void MqttLoop::Stop() {
  if (!thread_.joinable()) return;
  running_ = false;
  Post([] {});
  thread_.join();
  for (auto& c : clients_) mosquitto_disconnect_v5(c.mosq, 0, nullptr);
}

void MqttLoop::Ready(const std::string& error) {
  std::lock_guard lock(mu_);
  if (start_done_) return;
  if (!error.empty()) {
    start_error_ = error;
    start_done_ = true;
  } else if (--unready_ == 0) {
    start_done_ = true;
  }
  start_cv_.notify_all();
}

void MqttLoop::OnConnect(mosquitto* m, void* obj, int rc, int, const mosquitto_property*) {
  auto* c = static_cast<Client*>(obj);
  if (rc != 0) return c->loop->Ready(std::string("broker refused the connection: ") + mosquitto_reason_string(rc));
  c->pending_subacks = static_cast<int>(c->filters.size());
  if (c->filters.empty()) return c->loop->Ready("");
  for (const auto& f : c->filters) {
    const int src = mosquitto_subscribe_v5(m, nullptr, f.c_str(), c->loop->qos_, 0, nullptr);
    if (src != MOSQ_ERR_SUCCESS) return c->loop->Ready("subscribe " + f + ": " + mosquitto_strerror(src));
  }
}

void MqttLoop::OnSubscribe(mosquitto*, void* obj, int, int count, const int* granted, const mosquitto_property*) {
  auto* c = static_cast<Client*>(obj);
  for (int i = 0; i < count; ++i) {
    if (granted[i] > 2) return c->loop->Ready("the broker refused a subscription (reason " + std::to_string(granted[i]) + ")");
  }
  if (--c->pending_subacks == 0) c->loop->Ready("");
}

void MqttLoop::OnMessageCb(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property* props) {
  auto* c = static_cast<Client*>(obj);
  c->loop->handler_->OnMessage(c->index, msg, props);
}

void MqttLoop::RunTasks() {
  uint64_t drained;
  [[maybe_unused]] const ssize_t n = read(wake_fd_, &drained, sizeof(drained));
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void MqttLoop::Run() {
  std::vector<pollfd> fds(clients_.size() + 1);
  TimePoint next_misc = Clock::now();
  while (running_) {
    fds[0] = {wake_fd_, POLLIN, 0};
    for (size_t i = 0; i < clients_.size(); ++i) {
      mosquitto* m = clients_[i].mosq;
      const short events = static_cast<short>(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0));
      fds[i + 1] = {mosquitto_socket(m), events, 0};
    }
    poll(fds.data(), fds.size(), 50);
    if (fds[0].revents & POLLIN) RunTasks();
    for (size_t i = 0; i < clients_.size(); ++i) {
      mosquitto* m = clients_[i].mosq;
      const short re = fds[i + 1].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) mosquitto_loop_read(m, 1);
      if ((re & POLLOUT) || mosquitto_want_write(m)) mosquitto_loop_write(m, 1);
    }
    const TimePoint now = Clock::now();
    if (now >= next_misc) {
      for (auto& c : clients_) mosquitto_loop_misc(c.mosq);
      handler_->OnTick(now);
      next_misc = now + std::chrono::milliseconds(50);
    }
  }
}

}  // namespace infergate::bench
