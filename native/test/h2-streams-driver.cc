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
#include "h2-print-sink.h"

using namespace meshtap;

namespace {

using test::Hex;
using test::kNsPerMs;
using test::Unhex;

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
  std::vector<std::string> out;
  test::PrintingSink sink(&out);
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
      sink.Clear();  // bodies of streams the last sequence left open
      now = 0;
      out.push_back("SEQ");
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
      ex.capture_bodies = test::PrintingSink::Wants(sink.capture_mode, seq);
      tracker->AdoptUpgraded(std::move(ex));
    } else if (op == "rh" || op == "sh") {
      uint32_t id;
      int end;
      uint64_t t;
      in >> id >> end >> t;
      advance(t);
      H2FieldList fields = ReadFields(in);
      if (op == "sh") tracker->ResponseHeaders(id, std::move(fields), end != 0, now);
      else if (!tracker->RequestHeaders(id, std::move(fields), end != 0, now)) out.push_back("FULL " + std::to_string(id));
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
      out.push_back("OPEN " + std::to_string(tracker->OpenStreams()) + " " + std::to_string(tracker->ResetPending()));
      tracker.reset();
    } else if (op == "pd") {
      std::string hex;
      in >> hex;
      out.push_back("PD " + Hex(GrpcPercentDecode(DecodeFieldText(Unhex(hex), EscapeStyle::kBackslash))));
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
      out.push_back(std::string("GT ") + (ms ? buf : "-"));
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
      out.push_back("GC " + std::to_string(counter.messages()) + " " + std::to_string(counter.is_compressed()));
    }
    for (const std::string& o : out) std::cout << o << "\n";
    out.clear();
  }
  return 0;
}
