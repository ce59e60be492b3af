// Session: the MQTT client's session state, without IO (MqttClient drives
// it on its network thread and writes the bytes it appends).
//
// Outgoing: publishes queue in order; QoS 1/2 ones move into the window of
// unacknowledged publishes (at most the broker's Receive Maximum) where they
// get their packet id; QoS 0 ones are written in the same order. After a
// reconnect the window is sent again: with the session kept, PUBLISH with
// DUP (or PUBREL for a QoS 2 message the broker has received); without it,
// everything as new publishes (replies must not be lost). The window goes
// out whole even if the new connection's Receive Maximum is smaller (the
// same broker announces the same one).
//
// Incoming: a QoS 1/2 message is delivered once per connection until it is
// acknowledged; a QoS 2 message whose PUBREC was sent is not delivered again
// (its duplicate gets the PUBREC again) until the PUBREL; that state outlives
// a reconnect only when the session is kept.
//
// Thread-safety: one thread (the client's network thread).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "frontends/mqtt/mqtt_client.h"
#include "frontends/mqtt/packet.h"

namespace infergate::mqtt {

// One publish the client holds: its encoded PUBLISH (packet id patched in
// when it enters the window).
struct OutPublish {
  std::string bytes;
  size_t id_offset = 0;
  uint8_t qos = 0;
  PublishDone done;
  core::TimePoint sent_at{};
  uint64_t seq = 0;       // order of Enqueue
  bool released = false;  // QoS 2: PUBREC received, PUBREL sent
};

// A publish that left the session: its callback, outcome and size. `reason`
// labels a failure ("" when OK).
struct Completion {
  PublishDone done;
  core::Status status;
  size_t bytes = 0;
  const char* reason = "";
};

// What the broker's CONNACK allows.
struct SessionLimits {
  uint16_t receive_maximum = 65535;
  uint32_t maximum_packet_size = 0;  // 0: no limit
  uint8_t maximum_qos = 2;
};

class Session {
 public:
  explicit Session(ProtocolVersion version) : version_(version) {}

  // --- outgoing
  void Enqueue(OutPublish publish);
  // CONNACK accepted: applies `limits` and appends the window's resends.
  void Connected(bool session_present, const SessionLimits& limits, core::TimePoint now, std::string* out);
  // The connection is gone: queued QoS 0 publishes fail (disconnected).
  void Disconnected(std::vector<Completion>* done);
  // Moves queued publishes into the window as far as it allows and appends
  // them to `out`. QoS 0 ones go to `written` (done once the write completes),
  // ones too large for the broker to `failed`.
  void Fill(core::TimePoint now, std::string* out, std::vector<Completion>* written,
            std::vector<Completion>* failed);
  // PUBACK, PUBREC or PUBCOMP for one of ours.
  void OnAck(const AckPacket& ack, std::string* out, std::vector<Completion>* done);
  // Every publish held fails with `status` (Stop).
  void FailAll(const core::Status& status, const char* reason, std::vector<Completion>* done);
  // A packet id not in use (for SUBSCRIBE); free it with ReleaseId.
  uint16_t ReserveId();
  void ReleaseId(uint16_t id) { reserved_.erase(id); }

  std::optional<core::TimePoint> OldestUnacked() const;
  size_t queued_messages() const { return queue_.size(); }
  size_t queued_bytes() const { return queued_bytes_; }
  size_t unacked() const { return window_.size(); }
  bool idle() const { return queue_.empty() && window_.empty(); }

  // --- incoming
  // Whether to deliver `publish`; appends a PUBREC for a QoS 2 duplicate.
  bool OnIncoming(const PublishPacket& publish, std::string* out);
  // Appends the PUBACK / PUBREC of a delivered message (ignores unknown ids).
  void Acknowledge(uint16_t packet_id, int qos, std::string* out);
  // PUBREL from the broker: appends PUBCOMP.
  void OnPubrel(uint16_t packet_id, std::string* out);
  // Messages delivered and not yet acknowledged, plus QoS 2 ones awaiting PUBREL.
  size_t incoming_unacked() const { return delivered_.size() + pubrec_sent_.size(); }

 private:
  uint16_t NextId();
  void Send(OutPublish* p, core::TimePoint now, std::string* out);

  const ProtocolVersion version_;
  SessionLimits limits_;
  std::deque<OutPublish> queue_;
  size_t queued_bytes_ = 0;
  uint64_t next_seq_ = 0;
  std::unordered_map<uint16_t, OutPublish> window_;  // packet id -> unacknowledged publish
  std::unordered_set<uint16_t> reserved_;           // ids of SUBSCRIBEs in flight
  uint16_t last_id_ = 0;
  std::unordered_set<uint16_t> delivered_;    // incoming, awaiting Acknowledge (this connection)
  std::unordered_set<uint16_t> pubrec_sent_;  // incoming QoS 2, awaiting PUBREL
};

}  // namespace infergate::mqtt
