// MqttClient::Impl: the client's state and its network thread's work.
// mqtt_client.cc: the public methods, the inbox other threads fill, the
// pump, the timer (keepalive, stalls, reconnects) and Stop.
// mqtt_connection.cc: connecting (TCP, TLS, CONNECT/CONNACK), reading and
// dispatching packets, writing, closing. Internal to src/frontends/mqtt.
//
// Threads: members marked (any) are guarded by mu_ or atomic; all others
// belong to the network thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "frontends/mqtt/backoff.h"
#include "frontends/mqtt/mqtt_client.h"
#include "frontends/mqtt/mqtt_session.h"
#include "frontends/mqtt/packet.h"
#include "net/stream.h"

namespace infergate::mqtt {

class MqttClient::Impl {
 public:
  Impl(ClientOptions options, MqttClientListener* listener, std::shared_ptr<boost::asio::ssl::context> tls);
  ~Impl();

  // Any thread.
  core::Status Publish(OutgoingMessage message, PublishDone on_done);
  void Acknowledge(const AckHandle& ack);
  void SetReadPaused(bool paused);
  void Wake();
  // Controlling thread.
  void Start();
  void Stop(core::Duration flush);
  // Network thread.
  core::Status Subscribe(const std::string& filter, int qos);
  core::Status Unsubscribe(const std::string& filter, UnsubscribeDone on_done);

  const ClientOptions& options() const { return options_; }
  bool connected() const { return connected_.load(); }
  uint32_t max_packet_size() const { return max_packet_size_.load(); }

 private:
  enum class State { kIdle, kConnecting, kAwaitingConnack, kConnected, kClosing };

  // mqtt_client.cc
  void RequestPump();
  void Pump();
  void ApplyPause();
  void DeliverHeld();
  void Tick();
  void ArmTimer();
  void CheckTimeouts(core::TimePoint now);
  void Stall(const std::string& why);
  void BeginStop(core::Duration flush);
  void CheckStop();
  void Finish();
  void Complete(std::vector<Completion>* done);
  void CountFailure(const char* reason);
  void UpdateGauges(bool with_age);

  // mqtt_connection.cc
  void StartConnect();
  void OnTcpConnected(uint64_t epoch, std::shared_ptr<boost::asio::ip::tcp::socket> socket);
  void SendConnect();
  void ConnectFailed(const std::string& why);
  void StartRead();
  void OnRead(uint64_t epoch, const boost::system::error_code& ec, size_t n);
  void ProcessBuffer();
  core::Status Dispatch(const Frame& frame);
  core::Status HandleConnack(const ConnackPacket& connack);
  core::Status HandlePublish(PublishPacket&& publish);
  void HandleSuback(const SubackPacket& suback);
  void HandleUnsuback(const SubackPacket& unsuback);
  // The Unsubscribes awaiting their UNSUBACK fail with `status` (connection lost).
  void FailUnsubscribes(const core::Status& status);
  void StartWrite();
  void OnWritten(uint64_t epoch, const boost::system::error_code& ec);
  // Sends DISCONNECT (MQTT 5: with `reason`) and closes once it is written.
  void CloseWithReason(uint8_t reason, const std::string& why);
  void ConnectionLost(const std::string& why);

  const ClientOptions options_;
  MqttClientListener* const listener_;
  const ProtocolVersion version_;
  const core::Clock* const clock_;
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::ip::tcp::resolver resolver_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // null: plain TCP
  std::thread thread_;

  // Metrics.
  std::unique_ptr<core::MetricsRegistry> own_metrics_;
  core::MetricsRegistry* metrics_;
  core::Counter* stalls_;
  core::Gauge* queue_messages_;
  core::Gauge* queue_bytes_;
  core::Gauge* unacked_;
  core::Gauge* oldest_age_;

  // (any)
  std::mutex mu_;
  std::vector<OutPublish> inbox_publishes_;  // GUARDED_BY(mu_)
  std::vector<AckHandle> inbox_acks_;        // GUARDED_BY(mu_)
  bool pump_posted_ = false;                 // GUARDED_BY(mu_)
  std::atomic<bool> idle_requested_{false};
  std::atomic<bool> pause_requested_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint32_t> max_packet_size_{0};
  std::atomic<uint8_t> max_qos_{2};
  std::atomic<bool> retain_available_{true};
  std::atomic<int64_t> held_bytes_{0};  // publishes accepted and not yet done

  // Network thread.
  Backoff backoff_;
  Session session_;
  State state_ = State::kIdle;
  uint64_t epoch_ = 0;
  std::unique_ptr<net::Stream> stream_;
  core::TimePoint state_since_{};
  uint16_t keepalive_secs_ = 0;
  std::string out_;                      // packets to write next
  std::string writing_;                  // packets being written
  std::vector<Completion> out_done_;     // QoS 0 publishes in out_
  std::vector<Completion> writing_done_;  // QoS 0 publishes in writing_
  bool write_in_progress_ = false;
  core::TimePoint write_started_{};
  core::TimePoint last_write_{};
  std::optional<core::TimePoint> ping_sent_;
  std::string read_buf_;
  size_t read_len_ = 0;
  bool reading_ = false;
  bool read_blocked_ = false;       // held_ is full: not reading
  core::TimePoint reading_since_{};  // reading without a break since then
  bool paused_ = false;
  std::deque<IncomingMessage> held_;  // read while paused, not yet delivered
  size_t held_payload_bytes_ = 0;
  std::map<uint16_t, std::string> pending_subscriptions_;  // packet id -> filter
  struct PendingUnsubscribe {
    std::string filter;
    UnsubscribeDone done;
  };
  std::map<uint16_t, PendingUnsubscribe> pending_unsubscriptions_;  // packet id -> what waits for the UNSUBACK
  core::TimePoint next_idle_{};
  bool stopping_ = false;
  bool stop_final_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point flush_deadline_{};
  std::chrono::steady_clock::time_point hard_deadline_{};
};

}  // namespace infergate::mqtt
