// SPDX-License-Identifier: Apache-2.0
#include "metrics-http.h"

#include <cstring>

#include "metrics-labels.h"

namespace meshtap {
namespace {

// Methods kept as label values; any other reads `OTHER` (route-metrics.ts METHODS).
bool IsKnownMethod(std::string_view m) {
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (auto k : kMethods) {
    if (k == m) return true;
  }
  return false;
}

// gRPC status codes that count as failure (metrics.ts GRPC_FAILURE).
bool IsGrpcFailure(int64_t s) { return s == 2 || s == 4 || s == 7 || s == 13 || s == 14 || s == 15; }

// Linkerd's classification: no response, HTTP 5xx, or a failing gRPC status (metrics.ts isFailure).
bool IsFailure(int status, int64_t grpc_status) { return status == 0 || status >= 500 || (grpc_status >= 0 && IsGrpcFailure(grpc_status)); }

constexpr const char* kOverflow = "overflow";

}  // namespace

void LatencyHistogram::Observe(double ms) {
  size_t i = 0;
  while (i < kLatencyBuckets && ms > kLatencyBucketsMs[i]) i++;
  buckets[i]++;
  sum += ms;
  count++;
}

void HttpMetricsRegistry::BoundHit(const char* bound) {
  if (counters_ != nullptr) counters_->Add(std::string("bound\t") + bound);
}

std::unique_ptr<MetricsConn> HttpMetricsRegistry::Open(bool inbound, std::string_view target, std::string_view src) {
  auto c = std::make_unique<MetricsConn>();
  c->inbound = inbound;
  c->target.assign(target);
  std::lock_guard<std::mutex> lock(mu_);
  c->peer = PeerOf(inbound, c->target, inbound ? std::string(HostOf(src)) : std::string());
  return c;
}

PeerRoutes* HttpMetricsRegistry::PeerOf(bool inbound, const std::string& target, const std::string& source) {
  const std::string key = inbound ? "i|" + source + "|" + target : "o|" + target;
  auto it = peer_index_.find(key);
  if (it != peer_index_.end()) return it->second;
  if (peer_index_.size() >= limits_.max_peers && target != kOverflow) {
    BoundHit("route-peers");
    return PeerOf(inbound, kOverflow, inbound ? kOverflow : "");  // one `overflow` peer per direction
  }
  auto p = std::make_unique<PeerRoutes>();
  p->inbound = inbound;
  p->target = target;
  p->source = source;
  PeerRoutes* out = p.get();
  peers_.push_back(std::move(p));
  peer_index_.emplace(key, out);
  return out;
}

HttpRouteStats* HttpMetricsRegistry::RouteOf(MetricsConn* c, std::string_view authority) {
  if (c->route != nullptr && c->has_route_authority && c->route_authority == authority) return c->route;
  std::string label(authority);
  if (authorities_.count(label) == 0) {
    if (authorities_.size() >= limits_.max_authorities) {
      BoundHit("metric-authorities");
      label = kOverflow;
    } else {
      authorities_.insert(label);
    }
  }
  const char* direction = c->inbound ? "inbound" : "outbound";
  std::string key = std::string(direction) + "|" + label + "|" + c->target;
  HttpRouteStats* r;
  auto it = route_index_.find(key);
  if (it != route_index_.end()) {
    r = it->second;
  } else {
    auto s = std::make_unique<HttpRouteStats>();
    s->direction = direction;
    s->authority = std::move(label);
    s->target = c->target;
    r = s.get();
    routes_.push_back(std::move(s));
    route_index_.emplace(std::move(key), r);
  }
  c->route = r;
  c->has_route_authority = true;
  c->route_authority.assign(authority);
  return r;
}

RouteRecord* HttpMetricsRegistry::RecordOf(PeerRoutes* p, std::string_view method, std::string_view path, const char* protocol) {
  const std::string m = IsKnownMethod(method) ? std::string(method) : std::string("OTHER");
  std::string route = RouteTemplate(path, std::strcmp(protocol, "grpc") == 0);
  auto find = [&](const std::string& r) -> RouteRecord* {
    auto it = p->by_route.find(r);
    if (it == p->by_route.end()) return nullptr;
    for (auto& rec : it->second) {
      if (rec->method == m && std::strcmp(rec->protocol, protocol) == 0) return rec.get();
    }
    return nullptr;
  };
  if (RouteRecord* r = find(route)) return r;
  if (records_ >= limits_.max_routes && route != kOtherRoute) {
    BoundHit("routes");
    route = std::string(kOtherRoute);
    if (RouteRecord* r = find(route)) return r;
  }
  auto rec = std::make_unique<RouteRecord>();
  rec->method = m;
  rec->route = route;
  rec->protocol = protocol;
  RouteRecord* out = rec.get();
  auto it = p->by_route.find(route);
  if (it == p->by_route.end()) {
    p->route_order.push_back(route);
    it = p->by_route.emplace(route, std::vector<std::unique_ptr<RouteRecord>>()).first;
  }
  it->second.push_back(std::move(rec));
  records_++;
  return out;
}

void HttpMetricsRegistry::Request(MetricsConn* c, std::string_view authority) {
  std::lock_guard<std::mutex> lock(mu_);
  RouteOf(c, authority)->requests++;
}

void HttpMetricsRegistry::End(MetricsConn* c, const ExchangeOutcome& o) {
  if (o.unobserved) return;  // no response seen (exchange-events.ts)
  if (o.unprocessed == 1 || o.unprocessed == 2) {
    // Not a response: its request was counted; in no response or route series (exchange-events.ts).
    std::lock_guard<std::mutex> lock(mu_);
    RouteOf(c, o.authority)->unprocessed[o.unprocessed - 1]++;
    return;
  }
  const bool has_response = o.status != 0;
  const bool failure = o.is_failed || IsFailure(o.status, o.grpc_status);
  std::lock_guard<std::mutex> lock(mu_);
  HttpRouteStats* r = RouteOf(c, o.authority);
  HttpRouteStats::Response* resp = nullptr;
  for (auto& x : r->responses) {
    if (x.status == o.status && x.grpc_status == o.grpc_status && x.failure == failure) {
      resp = &x;
      break;
    }
  }
  if (resp == nullptr) {
    r->responses.push_back({o.status, o.grpc_status, failure, 0});
    resp = &r->responses.back();
  }
  resp->count++;
  if (has_response) {
    LatencyHistogram* h = nullptr;
    for (auto& [status, hist] : r->latency) {
      if (status == o.status) {
        h = &hist;
        break;
      }
    }
    if (h == nullptr) {
      r->latency.emplace_back(o.status, LatencyHistogram());
      h = &r->latency.back().second;
    }
    h->Observe(o.latency_ms);
  }
  RouteRecord* rec = c->last_record;
  if (rec == nullptr || o.path != c->last_path || o.method != c->last_method || std::strcmp(o.protocol, c->last_protocol) != 0) {
    rec = RecordOf(c->peer, o.method, o.path, o.protocol);
    c->last_record = rec;
    c->last_path.assign(o.path);
    c->last_method.assign(o.method);
    c->last_protocol = o.protocol;
  }
  if (failure) {
    rec->failure++;
  } else {
    rec->success++;
  }
  if (has_response) rec->latency.Observe(o.latency_ms);
}

}  // namespace meshtap
