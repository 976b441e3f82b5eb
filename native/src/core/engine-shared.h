// SPDX-License-Identifier: Apache-2.0
// What every epoll worker of one native engine shares: configuration, the event batch to JS
// and its doorbell, TCP counters, and the listener descriptions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/socket.h>

#include "event-ring.h"
#include "h1-exchange.h"
#include "metrics-http.h"
#include "recorder-ring.h"
#include "tap-event-json.h"
#include "tap-gate.h"
#include "tcp-stats.h"

namespace meshtap {

struct EngineConfig {
  int threads = 1;
  // false = forwarding only (`--observe none`): no record ever reaches JS.
  bool observe = true;
  size_t ring_bytes = 8 * 1024 * 1024;
  size_t max_targets = 1000;
  // Shortest time between two JS wakes (NATIVE.md: a wake costs 8-10 us of JS CPU).
  uint64_t doorbell_interval_ns = 1000000;
  // Close a connection with no bytes either way for this long (0: never), as the js engine's
  // --idle-timeout; TCP keepalive (first probe after keepalive_idle_s) runs on both legs.
  uint64_t idle_timeout_ns = 3600ull * 1000000000ull;
  int keepalive_idle_s = 60;
  // Observation (proxy/observation-driver.ts options): a partial first message is opaque after
  // this long; the observers' bounds; body bytes copied per direction at most.
  uint64_t detect_timeout_ns = 1000000000ull;
  ObserverLimits limits;
  uint64_t body_limit = 64 * 1024;
  // Pipes each worker may hold for splice(2) (pipe-pool.h; 0: never splice). Pipes are rationed
  // per uid node-wide (1024 full-size ones) and every sidecar on a node shares that uid.
  size_t max_pipes = 16;
  // The longest a worker polls before it blocks in epoll_wait (busy-poll.h; 0: never poll). 50 us:
  // on this kind of VM it cut the wakes of an idle worker per small HTTP/1 request to haproxy's
  // level at a proxy CPU per request still below haproxy's (docs/decisions.md, session 5).
  uint64_t busy_poll_max_ns = 50000;
  // HTTP metrics bounds (proxy/metrics.ts maxAuthorities, route-metrics.ts ROUTE_DEFAULTS).
  HttpMetricsLimits http_limits;
  // The flight recorder's byte bound (--recorder-bytes) and whether it keeps bodies (--recorder-bodies,
  // at most body_limit bytes per body, the observers' bound above).
  size_t recorder_bytes = 8 * 1024 * 1024;
  bool recorder_bodies = false;
  // Every observed connection's open and detection go to JS at once (MESHTAP_TRACE=detect logs a
  // line per connection, as the js engine does). Otherwise a connection is announced to JS only
  // before its first record JS needs (detect-driver.h), and one nobody taps costs JS nothing.
  bool announce_connections = false;
};

enum class ListenerKind { kForward, kInbound, kOutbound };

// A listener, described as data (its sockets are created by the engine, one per worker).
struct ListenerSpec {
  uint32_t id = 0;
  ListenerKind kind = ListenerKind::kForward;
  bool inbound = true;             // proxy `in` (inbound direction) or `out`
  sockaddr_storage target{};       // forward: where connections go
  sockaddr_storage source{};       // forward: connect from this address (family 0: any); a local
                                   // sidecar's own 127.x.y.z, so that the callee can name its caller
  std::string dst_text;            // forward: the destination label (as the user wrote the target)
  sockaddr_storage app{};          // inbound: the application's host (port = original port)
  uint16_t own_port = 0;           // inbound: a connection to this port would loop
};

struct EngineShared {
  EngineShared(const EngineConfig& c) : config(c), ring(c.ring_bytes), tcp(c.max_targets), http(c.http_limits, &counters), recorder(c.recorder_bytes) {}
  const EngineConfig config;
  EventRing ring;
  TcpStatsRegistry tcp;
  EventCounters counters;
  // Whether body bytes go to JS for exchanges starting now (JS sets it: --recorder-bodies, or a
  // tap subscriber with bodies). Read at each request head.
  std::atomic<bool> want_bodies{false};
  // HTTP metrics and the flight recorder of exchanges observed in C++ (read at scrape / query).
  HttpMetricsRegistry http;
  RecorderRing recorder;
  // Whether any tap subscriber is attached (set by JS): only then do exchanges observed in C++
  // go to JS as records, decided per exchange at its request head.
  std::atomic<bool> tapped{false};
  // Whether every tap subscriber is attached but not reading (its queue full; set by JS): then
  // exchanges starting now do not go to JS at all (decided at the request head, as `tapped`),
  // and each event they would have made (request head, final response head, end) is counted in
  // `shed_events` instead; JS tells its subscribers that count as lost (proxy/tap-hub.ts). A tap
  // that cannot keep up so costs the JS thread nothing for what it would have dropped anyway.
  std::atomic<bool> shedding{false};
  std::atomic<uint64_t> shed_events{0};
  // Whether a tapped exchange starting now may go to JS when every subscriber is rate-limited and
  // matches everything (set by JS; tap-gate.h): checked at the request head after `shedding`.
  TapGate tap_gate;
  // While set (by JS: every tap subscriber takes every event, tap-hub.ts), HTTP/2 streams going to
  // JS carry their events' JSON too (tap-event-json.h); read at each request head.
  std::shared_ptr<const TapJsonPolicy> TapJson() const { return std::atomic_load(&tap_json_); }
  void SetTapJson(std::shared_ptr<const TapJsonPolicy> p) { std::atomic_store(&tap_json_, std::move(p)); }
  // Wakes the JS thread (a threadsafe-function call); set once before workers start.
  std::function<void()> doorbell;

  // Decides at an exchange's request head whether its records go to JS, for both record sinks
  // (H1Exchange and H2Exchange have the same fields): only while someone taps (`tapped`); not while
  // every subscriber is not reading (`shedding`: ex.shed, counted here, its later events by the
  // sink); not when the tap gate refuses it (counted there). Then with its body bytes while a tap
  // or the recorder wants them. Sets ex.to_js, ex.shed, ex.bodies_to_js (capture_bodies with it);
  // true = its records go to JS.
  template <typename Exchange>
  bool AdmitToJs(Exchange& ex) {
    ex.to_js = tapped.load(std::memory_order_relaxed);
    if (!ex.to_js) return false;
    if (shedding.load(std::memory_order_relaxed)) {
      ex.to_js = false;
      ex.shed = true;
      shed_events.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (!tap_gate.Admit(ex.start_ns)) {  // every subscriber's rate limit would drop it: counted there
      ex.to_js = false;
      return false;
    }
    ex.bodies_to_js = want_bodies.load(std::memory_order_relaxed);
    if (ex.bodies_to_js) ex.capture_bodies = true;  // another sink (the recorder's) may want them too
    return true;
  }

  // A later event of an exchange AdmitToJs shed (`ex.shed`) is counted, not sent.
  void CountShed(bool shed) {
    if (shed) shed_events.fetch_add(1, std::memory_order_relaxed);
  }

  // Rings the doorbell if records wait and none is in flight and the last wake is older than
  // the interval. Returns how long (ms) a worker may sleep before it must try again, -1: forever.
  int MaybeRing();

 private:
  std::shared_ptr<const TapJsonPolicy> tap_json_;
};

}  // namespace meshtap
