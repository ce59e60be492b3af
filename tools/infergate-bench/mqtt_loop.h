// A set of MQTT 5 clients (libmosquitto) driven by one thread: the loop polls
// every client's socket and an eventfd for posted tasks, so hundreds of
// simulated devices cost one thread, not one each. Every libmosquitto call on
// a client is made on that thread (or before it starts / after it stops).
//
// Threading: Create/Start/Stop from the owner's thread; Post from any thread;
// the handler's callbacks and posted tasks run on the loop thread.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "rate_schedule.h"

namespace infergate::bench {

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  int clients = 1;
  std::string client_id_prefix = "infergate-bench";
  int keepalive_s = 30;
  Nanos timeout = std::chrono::seconds(10);  // connecting and subscribing
};

// Splits "HOST:PORT" (or "mqtt://HOST:PORT").
core::Status ParseBroker(const std::string& text, std::string* host, int* port);

class MqttLoop {
 public:
  // Called on the loop thread.
  struct Handler {
    virtual ~Handler() = default;
    virtual void OnMessage(int client, const mosquitto_message* message, const mosquitto_property* props) = 0;
    // About every 50 ms, for time-outs.
    virtual void OnTick(TimePoint /*now*/) {}
  };

  // Makes `options.clients` MQTT 5 clients; nothing is connected yet.
  static core::StatusOr<std::unique_ptr<MqttLoop>> Create(const MqttOptions& options, Handler* handler);
  ~MqttLoop();
  MqttLoop(const MqttLoop&) = delete;
  MqttLoop& operator=(const MqttLoop&) = delete;

  // Connects every client, subscribes client i to filters(i) at `qos`, and
  // returns once every subscription is acknowledged (or fails).
  core::Status Start(const std::function<std::vector<std::string>(int)>& filters, int qos);
  // Runs `task` on the loop thread.
  void Post(std::function<void()> task);
  // Disconnects and joins the loop thread. Idempotent.
  void Stop();

  int size() const { return static_cast<int>(clients_.size()); }
  // Loop thread only.
  mosquitto* client(int i) { return clients_[static_cast<size_t>(i)].mosq; }

 private:
  struct Client {
    MqttLoop* loop = nullptr;
    int index = 0;
    mosquitto* mosq = nullptr;
    std::vector<std::string> filters;
    int pending_subacks = 0;
  };
  MqttLoop(MqttOptions options, Handler* handler) : options_(std::move(options)), handler_(handler) {}
  void Run();
  void RunTasks();
  void Ready(const std::string& error);  // start-up result, loop thread
  static void OnConnect(mosquitto* m, void* obj, int rc, int flags, const mosquitto_property* props);
  static void OnSubscribe(mosquitto* m, void* obj, int mid, int count, const int* granted,
                          const mosquitto_property* props);
  static void OnMessageCb(mosquitto* m, void* obj, const mosquitto_message* msg, const mosquitto_property* props);

  const MqttOptions options_;
  Handler* handler_;
  std::vector<Client> clients_;
  int qos_ = 0;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;  // guarded by mu_
  std::string start_error_;                   // guarded by mu_
  int unready_ = 0;                           // clients not yet subscribed; guarded by mu_
  bool start_done_ = false;                   // guarded by mu_
  std::condition_variable start_cv_;
};

}  // namespace infergate::bench
