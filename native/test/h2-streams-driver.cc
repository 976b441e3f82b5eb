// SPDX-License-Identifier: Apache-2.0
// Test driver for native/h2-streams.test.ts: runs operation sequences (one per line, see that
// file) through H2StreamTracker and prints what its sink saw, line for line in the format the
// test prints for the js StreamTracker, so that the two can be compared exactly. Not part of
// the addon; built by the test with the system compiler.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/grpc-framing.h"
#include "core/grpc-status.h"
#include "core/h1-text.h"
#include "core/h2-streams.h"

using namespace meshtap;

namespace {

constexpr uint64_t kNsPerMs = 1000000;

std::string Hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Unhex(const std::string& h) {
  if (h == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string Fields(const H2FieldList& list) {
  std::string out = std::to_string(list.size());
  for (const H2Field& f : list) out += ":" + Hex(f.name) + "=" + Hex(f.value);
  return out;
}

// Capture modes: 0 none, 1 every stream, 2 streams with id % 4 == 1.
struct Sink : H2ExchangeSink {
  int capture_mode = 0;
  // Captured bodies by exchange (an adopted h2c exchange may share its number with a stream).
  std::map<const H2Exchange*, std::string> req_bodies, rsp_bodies;

  static bool Wants(int mode, uint32_t id) { return mode == 1 || (mode == 2 && id % 4 == 1); }
  std::string TakeBody(bool is_request, const H2Exchange* ex) {
    auto& bodies = is_request ? req_bodies : rsp_bodies;
    auto it = bodies.find(ex);
    if (it == bodies.end()) return "";
    std::string out = std::move(it->second);
    bodies.erase(it);
    return out;
  }
  void RequestHead(H2Exchange& ex) override {
    ex.capture_bodies = Wants(capture_mode, ex.stream);
    std::cout << "RH " << ex.stream << "\n";
  }
  void ResponseHead(H2Exchange& ex) override {
    std::cout << "RS " << ex.stream << " " << ex.status << " " << ex.response_ns / kNsPerMs << "\n";
  }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    if (!ex.capture_bodies) std::cout << "BAD body without capture\n";
    (is_request ? req_bodies : rsp_bodies)[&ex].append(reinterpret_cast<const char*>(data), len);
  }
  void End(H2Exchange& ex) override {
    std::ostringstream o;
    o << "END " << ex.stream << " " << (ex.is_grpc ? "grpc" : "h2") << " " << Hex(ex.method) << " " << Hex(ex.scheme) << " "
      << Hex(ex.authority) << " " << Hex(ex.path) << " " << Fields(ex.request_headers) << " " << Fields(ex.request_trailers)
      << " " << ex.status << " " << Fields(ex.response_headers) << " " << Fields(ex.trailers) << " ";
    if (ex.has_grpc_status) o << ex.grpc_status;
    else o << "-";
    o << " ";
    if (ex.has_grpc_message) o << "m:" << Hex(ex.grpc_message);
    else o << "-";
    o << " " << ex.request_bytes << " " << ex.response_bytes << " " << ex.request_messages << " " << ex.response_messages << " "
      << ex.request_compressed << ex.response_compressed << " " << ex.start_ns / kNsPerMs << " " << ex.response_ns / kNsPerMs << " "
      << ex.end_ns / kNsPerMs << " " << (ex.error ? ex.error : "-");
    for (int dir = 0; dir < 2; dir++) {
      const bool is_request = dir == 0;
      std::string body = TakeBody(is_request, &ex);
      if (!ex.capture_bodies) {
        o << " none";
        continue;
      }
      const uint64_t total = is_request ? ex.request_bytes : ex.response_bytes;
      o << " b:" << Hex(body) << (total > body.size() ? "+" : "");
    }
    std::cout << o.str() << "\n";
  }
  void GiveUp(GiveUpReason) override { std::cout << "BAD giveup\n"; }
};

H2FieldList ReadFields(std::istringstream& in) {
  size_t n = 0;
  in >> n;
  H2FieldList out;
  for (size_t i = 0; i < n; i++) {
    std::string name, value;
    in >> name >> value;
    // As h2-observer does after HPACK (observer-side.ts): values read by the field-text rule.
    std::string n8 = Unhex(name);
    const EscapeStyle style = n8 == ":path" ? EscapeStyle::kPercent : EscapeStyle::kBackslash;
    out.push_back({n8, DecodeFieldText(Unhex(value), style)});
  }
  return out;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Sink sink;
  ObserverLimits limits;
  std::unique_ptr<H2StreamTracker> tracker;
  uint64_t now = 0;
  std::string line;
  // Runs the grace timer up to `t` ms exactly as fake timers do: each firing at its own time.
  auto advance = [&](uint64_t t_ms) {
    const uint64_t t = t_ms * kNsPerMs;
    while (tracker && tracker->NextDeadlineNs() <= t) tracker->OnDeadline(tracker->NextDeadlineNs());
    now = t;
  };
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "seq") {
      in >> limits.max_streams >> sink.capture_mode >> limits.max_body_capture_bytes;
      tracker = std::make_unique<H2StreamTracker>(&sink, limits);
      sink.req_bodies.clear();  // of streams the last sequence left open
      sink.rsp_bodies.clear();
      now = 0;
      std::cout << "SEQ\n";
    } else if (op == "up") {
      uint64_t t;
      uint32_t seq;
      std::string m, s, a, p;
      in >> t >> seq >> m >> s >> a >> p;
      advance(t);
      H2Exchange ex;
      ex.stream = seq;
      ex.start_ns = now;
      ex.method = Unhex(m);
      ex.scheme = Unhex(s);
      ex.authority = Unhex(a);
      ex.path = Unhex(p);
      ex.capture_bodies = Sink::Wants(sink.capture_mode, seq);
      tracker->AdoptUpgraded(std::move(ex));
    } else if (op == "rh" || op == "sh") {
      uint32_t id;
      int end;
      uint64_t t;
      in >> id >> end >> t;
      advance(t);
      H2FieldList fields = ReadFields(in);
      if (op == "sh") tracker->ResponseHeaders(id, std::move(fields), end != 0, now);
      else if (!tracker->RequestHeaders(id, std::move(fields), end != 0, now)) std::cout << "FULL " << id << "\n";
    } else if (op == "d") {
      std::string dir, hex;
      uint32_t id;
      in >> dir >> id >> hex;
      std::string bytes = Unhex(hex);
      tracker->Data(dir == "c", id, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } else if (op == "de") {
      std::string dir;
      uint32_t id;
      uint64_t t;
      in >> dir >> id >> t;
      advance(t);
      tracker->DataEndStream(dir == "c", id, now);
    } else if (op == "rst") {
      uint32_t id, code;
      std::string dir;
      uint64_t t;
      in >> id >> code >> dir >> t;
      advance(t);
      tracker->Reset(id, code, dir == "c", now);
    } else if (op == "ga") {
      uint32_t last;
      uint64_t t;
      in >> last >> t;
      advance(t);
      tracker->Goaway(last, now);
    } else if (op == "se") {
      uint64_t t;
      in >> t;
      advance(t);
      tracker->ServerEnded(now);
    } else if (op == "ea") {
      std::string error;
      uint64_t t;
      in >> error >> t;
      advance(t);
      // Static strings only, as the observer passes.
      const char* e = error == "observer-gave-up"  ? exchange_error::kGaveUp
                      : error == "closed"          ? h2_error::kClosed
                      : error == "upstream-closed" ? exchange_error::kUpstreamClosed
                                                   : exchange_error::kClientClosed;
      tracker->EndAll(e, now);
    } else if (op == "tick") {
      uint64_t t;
      in >> t;
      advance(t);
    } else if (op == "end") {
      std::cout << "OPEN " << tracker->OpenStreams() << " " << tracker->ResetPending() << "\n";
      tracker.reset();
    } else if (op == "pd") {
      std::string hex;
      in >> hex;
      std::cout << "PD " << Hex(GrpcPercentDecode(DecodeFieldText(Unhex(hex), EscapeStyle::kBackslash))) << "\n";
    } else if (op == "gt") {
      std::string hex;
      in >> hex;
      std::optional<double> ms = ParseGrpcTimeoutMs(Unhex(hex));
      // The double's bits, so that JS's number and this one compare exactly.
      char buf[32];
      if (ms) {
        uint64_t bits;
        std::memcpy(&bits, &*ms, sizeof bits);
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(bits));
      }
      std::cout << "GT " << (ms ? buf : "-") << "\n";
    } else if (op == "gc") {
      std::string hex;
      std::vector<size_t> cuts;
      in >> hex;
      size_t c;
      while (in >> c) cuts.push_back(c);
      std::string bytes = Unhex(hex);
      GrpcMessageCounter counter;
      size_t from = 0;
      cuts.push_back(bytes.size());
      for (size_t cut : cuts) {
        counter.Feed(reinterpret_cast<const uint8_t*>(bytes.data()) + from, cut - from);
        from = cut;
      }
      std::cout << "GC " << counter.messages() << " " << counter.is_compressed() << "\n";
    }
  }
  return 0;
}
