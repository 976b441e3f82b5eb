// SPDX-License-Identifier: Apache-2.0
// The observation of one native connection (proxy/observation-driver.ts's C++ twin): detects
// the protocol on the first client bytes, then
//   h1     → the C++ HTTP/1 observer, whose exchanges go to JS as compact records (no bytes);
//   h2     → the C++ HTTP/2 observer (h2-observer.h), whose streams go to JS as compact records
//            only while tapped (h2-record-sink.h), metrics and flight recorder in C++;
//   opaque → nothing more goes to JS (not HTTP, TLS, detection timed out, server spoke first).
//
//     detecting ──► h1 ──► off (gave up, upgraded)   h1 ──► h2 (101 to h2c: stream 1 adopted)
//         ├───────► h2 ──► off (gave up)
//         └───────► off (opaque)
//
// Records it writes (event-ring.h): kRecOpen and kRecDetected (kDetectedH2Native for h2), the h1
// and h2 exchange records (h1-record-sink.h, h2-record-sink.h), kRecH2c, kRecUpgraded, kRecGiveUp;
// no connection's bytes go to JS. The C++ HTTP/2 observer's reset grace is a deadline the worker
// keeps (H2Deadline). Never throws.
//
// JS hears of a connection only when it needs to (DESIGN §3: with no tap subscriber the JS
// thread does no per-connection work): the open record (and, for HTTP/1, its detection) goes
// lazily, just before the first record JS must see (a tapped exchange or stream, h2c), and what
// the js engine counts from detection (protocol, detect timeout, give-ups) is counted in C++
// (EventCounters) and read at scrape. An HTTP/1 or opaque connection nobody taps sends nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "detect.h"
#include "engine-shared.h"
#include "event-ring.h"
#include "h1-exchange.h"

namespace meshtap {

struct Conn;
class H1Observer;
class H1RecordSink;
class H1MetricsSink;
class H1TeeSink;
struct H1MetricsSinkConfig;
class H1ToH2cSink;
class H2Observer;
class H2RecordSink;
class H2MetricsSink;
class H2TeeSink;
class DetectDeadlines;

class ObservationDriver {
 public:
  // `addresses`: the connection's "src\ndst" as its open record gives them (the C++ metrics and
  // flight recorder label and keep them). `h2_deadlines`: the worker's queue of HTTP/2 reset-grace
  // deadlines (null: none are kept, the grace then ends only with the connection).
  ObservationDriver(EngineShared* shared, Conn* conn, std::string addresses, DetectDeadlines* h2_deadlines = nullptr);
  ~ObservationDriver();
  ObservationDriver(const ObservationDriver&) = delete;
  ObservationDriver& operator=(const ObservationDriver&) = delete;

  // Bytes just forwarded one way (a view of the worker's read buffer), read at now_ns.
  void Data(bool from_client, const uint8_t* p, size_t n, uint64_t now_ns);
  // That side half-closed.
  void End(bool from_client, uint64_t now_ns);
  // The connection is gone (before its close record): open exchanges end with the reason.
  void Close(AbortCode abort, uint64_t now_ns);
  // How many of the next bytes from that side the worker may forward without calling Data (body
  // bytes nobody captures, e.g. to splice them): UINT64_MAX when nothing observes the connection,
  // 0 when every byte must be shown. Then Skipped reports what went by unseen.
  uint64_t Skippable(bool from_client);
  void Skipped(bool from_client, uint64_t n, uint64_t now_ns);
  // The detection timeout passed since the connection opened (proxy/observation-driver.ts).
  void DetectDeadline(uint64_t now_ns);
  // An HTTP/2 reset-grace deadline this driver queued may have come (stale ones do nothing).
  void H2Deadline(uint64_t now_ns);

  // Sends JS the connection's open record (and its detection, once known) if not yet sent; false
  // when records no longer go to JS. Called by Emit; by the worker at open only when every
  // connection is announced (EngineConfig::announce_connections, MESHTAP_TRACE=detect).
  bool Announce(uint64_t t_ns);
  bool IsAnnounced() const;
  // The observer gave up (counted, told to JS only if it knows the connection); observation stops.
  void GaveUp(GiveUpReason reason);
  // Writes one record of this connection, announcing it first; false when observation is over (the
  // batch was full: the connection is then unobserved and, if announced, JS told with kRecLost).
  bool Emit(RecordType type, uint8_t code, const void* data, size_t len, uint64_t t_ns, bool is_control);
  // Writes `head` (a u32 stream) then `body` as one record payload.
  bool Emit2(RecordType type, uint8_t code, uint32_t stream, const void* body, size_t len, uint64_t t_ns, bool is_control);
  // The observer stopped (gave up, upgraded): no more records for this connection.
  void StopObserving();
  uint64_t now_ns() const { return now_ns_; }
  EngineShared* shared() const { return shared_; }
  // The connection's id and direction, and its "src\ndst" (tap-event-json.h names events with them).
  uint32_t conn_id() const;
  bool is_inbound() const;
  const std::string& addresses() const { return addresses_; }

 private:
  enum class State { kDetecting, kH1, kH2, kOff };
  void Decide(Detection d, const char* why, const uint8_t* last, size_t n);
  void StartH2();
  // What both protocols' C++ metrics/recorder sinks are made with: the sink config, the
  // connection's src and dst (from addresses_), and the observer limits (bodies kept at most to
  // the body limit, whichever sink keeps them).
  H1MetricsSinkConfig SinkConfig() const;
  std::string Src() const;
  std::string Dst() const;
  ObserverLimits SinkLimits() const;
  void ScheduleH2Deadline();
  void AfterH1();
  void EndOf(bool from_client);
  void Abandon() noexcept;
  bool IsLive();
  // The batch was full: records stop for this connection (counted; JS told if it knows it).
  void Lost();

  EngineShared* const shared_;
  Conn* const conn_;
  State state_ = State::kDetecting;
  uint64_t now_ns_ = 0;
  std::string detect_buf_;      // client bytes while detecting (< kDetectMaxBytes)
  std::string server_first_;    // server bytes while detecting (<= kServerFirstMaxBytes)
  size_t server_first_len_ = 0;
  bool has_server_first_ = false;
  std::string addresses_;       // "src\ndst": the open record's payload and the metrics' labels
  bool is_detection_sent_ = false;
  std::unique_ptr<H1RecordSink> sink_;
  std::unique_ptr<H1MetricsSink> metrics_sink_;
  std::unique_ptr<H1TeeSink> tee_;
  std::unique_ptr<H1ToH2cSink> h2c_;
  std::unique_ptr<H1Observer> h1_;
  DetectDeadlines* const h2_deadlines_;
  uint64_t h2_deadline_ns_ = 0;  // the deadline queued last (0: none)
  std::unique_ptr<H2RecordSink> h2_sink_;
  std::unique_ptr<H2MetricsSink> h2_metrics_sink_;
  std::unique_ptr<H2TeeSink> h2_tee_;
  std::unique_ptr<H2Observer> h2_;
};

// Connections still detecting, by deadline: the timeout is the same for all, so deadlines come
// in opening order and a FIFO is enough (one entry per connection opened within the timeout).
// The HTTP/2 reset grace uses another (one delay for all: armed at now + 1 s, so FIFO too).
class DetectDeadlines {
 public:
  void Add(uint32_t id, uint64_t at_ns) { queue_.emplace_back(at_ns, id); }
  // Calls fire(id) for every passed deadline; returns ms until the next one, -1: none.
  template <typename Fire>
  int Sweep(uint64_t now_ns, Fire fire) {
    while (!queue_.empty() && queue_.front().first <= now_ns) {
      const uint32_t id = queue_.front().second;
      queue_.pop_front();
      fire(id);
    }
    if (queue_.empty()) return -1;
    return static_cast<int>((queue_.front().first - now_ns + 999999) / 1000000);
  }

 private:
  std::deque<std::pair<uint64_t, uint32_t>> queue_;
};

}  // namespace meshtap
