// SPDX-License-Identifier: Apache-2.0
// HTTP metrics of exchanges observed in C++, aggregated on the workers and read when /metrics is
// scraped (no JS wake per request): Linkerd's request_total / response_total /
// response_latency_ms by (direction, authority, target_addr), and the per-route, per-peer
// route_response_total / route_response_latency_ms behind `meshtap edges` and `meshtap routes`.
//
// The same rules as the js engine (proxy/metrics.ts, http-metrics.ts, route-metrics.ts), down to
// the per-connection caches, because the bounds count a hit per cache miss: a connection resolves
// its authority's route once per change of authority, and its route record once per change of
// (path, method, protocol); the route cursor (its peer) is made when the connection is known to
// be HTTP. Bounds: `max_authorities` authority labels (then `overflow`, bound
// `metric-authorities`), `max_routes` route records (then route `[other]`, bound `routes`),
// `max_peers` peers (then peer `overflow`, bound `route-peers`); hits go to EventCounters.
//
// One mutex guards everything: a worker takes it twice per exchange (request head, end); a
// scrape takes it once for its snapshot. Both calls together cost ~65 ns of thread CPU per
// keep-alive exchange, uncontended (docs/decisions.md, "HTTP metrics and the flight recorder in C++").
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics-secrets.h"
#include "tcp-stats.h"

namespace meshtap {

// Linkerd's response_latency_ms bucket bounds (LATENCY_BUCKETS_MS in proxy/metrics.ts).
constexpr double kLatencyBucketsMs[] = {1,    2,    3,    4,    5,     10,    20,    30,    40,    50,   100,  200,  300,
                                        400,  500,  1000, 2000, 3000,  4000,  5000,  10000, 20000, 30000, 40000, 50000};
constexpr size_t kLatencyBuckets = sizeof(kLatencyBucketsMs) / sizeof(kLatencyBucketsMs[0]);

struct LatencyHistogram {
  uint64_t buckets[kLatencyBuckets + 1] = {};  // not cumulative; the last is +Inf
  double sum = 0;
  uint64_t count = 0;
  void Observe(double ms);
};

// One finished exchange, as the metrics need it.
struct ExchangeOutcome {
  std::string_view authority;  // the label (ShowRequest: as the req event shows it)
  std::string_view method;
  std::string_view path;       // the request target as the req event shows it (ShowRequest)
  const char* protocol = "http/1.1";  // label value: http/1.1 | http/1.0 | h2 | grpc
  int status = 0;              // 0: no response
  int64_t grpc_status = -1;    // -1: none (grpc-status.ts reads up to 10 digits)
  bool is_failed = false;      // forced failure (the exchange ended with an error)
  double latency_ms = 0;       // request start to response head (only when status != 0)
  // An HTTP/2 stream the server never processed (h2-exchange.h Unprocessed: 1 refused, 2 goaway):
  // no response; counted in HttpRouteStats::unprocessed only. 0: a response (or none) as above.
  uint8_t unprocessed = 0;
  // Its outcome went unseen: the observer gave up on its connection before the response came whole
  // (tap-protocol/outcome.ts isUnobserved). Its request was counted; no response is.
  bool unobserved = false;
};

struct HttpRouteStats {
  struct Response {
    int status;
    int64_t grpc_status;
    bool failure;
    uint64_t count;
  };
  std::string direction, authority, target;
  uint64_t requests = 0;
  uint64_t unprocessed[2] = {0, 0};  // requests the server never processed: refused, goaway
  std::vector<Response> responses;                         // in first-seen order
  std::vector<std::pair<int, LatencyHistogram>> latency;   // by status, first-seen order
};

struct RouteRecord {
  std::string method, route;
  const char* protocol;
  uint64_t success = 0, failure = 0;
  LatencyHistogram latency;
};

struct PeerRoutes {
  bool inbound;
  std::string target;  // target_addr
  std::string source;  // inbound: the caller's IP (src_addr)
  std::vector<std::string> route_order;
  std::unordered_map<std::string, std::vector<std::unique_ptr<RouteRecord>>> by_route;
};

// One connection's caches (createExchangeSink's routeOf and route cursor). Owned by the
// connection's observer; used only by its worker.
struct MetricsConn {
  bool inbound = true;
  std::string target;
  PeerRoutes* peer = nullptr;
  bool has_route_authority = false;
  std::string route_authority;
  HttpRouteStats* route = nullptr;
  std::string last_path, last_method;
  const char* last_protocol = nullptr;
  RouteRecord* last_record = nullptr;
};

struct HttpMetricsLimits {
  size_t max_authorities = 1000;
  size_t max_routes = 200;
  size_t max_peers = 1000;
  // What labels made from a request must not show (metrics-secrets.h; the sidecar's tap policy).
  LabelSecretPolicy secrets = DefaultLabelSecretPolicy();
};

class HttpMetricsRegistry {
 public:
  HttpMetricsRegistry(const HttpMetricsLimits& limits, EventCounters* counters) : limits_(limits), counters_(counters) {}

  // A connection became HTTP: `target` is its dst (`ip:port`), `src` its client address.
  std::unique_ptr<MetricsConn> Open(bool inbound, std::string_view target, std::string_view src);
  // A request head was seen; `authority` is its label (ShowRequest).
  void Request(MetricsConn* c, std::string_view authority);
  // The policy the sinks make labels with (ShowRequest).
  const LabelSecretPolicy& secrets() const { return limits_.secrets; }
  // An exchange ended (with or without a response).
  void End(MetricsConn* c, const ExchangeOutcome& o);

  // Calls `fn` with the registry locked (a scrape's consistent view; keep it short).
  template <typename Fn>
  void Read(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(static_cast<const std::deque<std::unique_ptr<HttpRouteStats>>&>(routes_), static_cast<const std::deque<std::unique_ptr<PeerRoutes>>&>(peers_));
  }

 private:
  HttpRouteStats* RouteOf(MetricsConn* c, std::string_view authority);  // mu_ held
  PeerRoutes* PeerOf(bool inbound, const std::string& target, const std::string& source);  // mu_ held
  RouteRecord* RecordOf(PeerRoutes* p, std::string_view method, std::string_view path, const char* protocol);  // mu_ held
  void BoundHit(const char* bound);

  const HttpMetricsLimits limits_;
  EventCounters* const counters_;
  std::mutex mu_;
  std::unordered_set<std::string> authorities_;
  std::unordered_map<std::string, HttpRouteStats*> route_index_;
  std::deque<std::unique_ptr<HttpRouteStats>> routes_;
  std::unordered_map<std::string, PeerRoutes*> peer_index_;
  std::deque<std::unique_ptr<PeerRoutes>> peers_;
  size_t records_ = 0;
};

}  // namespace meshtap
