// SPDX-License-Identifier: Apache-2.0
// What the C++ test drivers of native/h2-streams.test.ts and native/h2-observer.test.ts share:
// an H2ExchangeSink that prints every call as one line, in exactly the format the js side prints
// (native/test/h2-print.ts), so that the two engines' calls compare as text. Test-only, header-only.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/h2-exchange.h"

namespace meshtap {
namespace test {

constexpr uint64_t kNsPerMs = 1000000;

inline std::string Hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// "-" stands for no bytes (an empty token would not survive `>>`).
inline std::string Unhex(const std::string& h) {
  if (h == "-") return "";
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string Fields(const H2FieldList& list) {
  std::string out = std::to_string(list.size());
  for (const H2Field& f : list) out += ":" + Hex(f.name) + "=" + Hex(f.value);
  return out;
}

class PrintingSink : public H2ExchangeSink {
 public:
  explicit PrintingSink(std::vector<std::string>* out) : out_(out) {}

  // Which exchanges capture bodies (decided at RequestHead, as the js sink does): 0 none, 1 all,
  // 2 those numbered 1 mod 4.
  int capture_mode = 0;
  static bool Wants(int mode, uint32_t number) { return mode == 1 || (mode == 2 && number % 4 == 1); }

  // Forgets bodies of exchanges a run left open (their observer is gone).
  void Clear() { bodies_.clear(); }

  void RequestHead(H2Exchange& ex) override {
    ex.capture_bodies = Wants(capture_mode, ex.stream);
    out_->push_back("RH " + std::to_string(ex.stream));
  }
  void ResponseHead(H2Exchange& ex) override {
    out_->push_back("RS " + std::to_string(ex.stream) + " " + std::to_string(ex.status) + " " + Ms(ex.response_ns));
  }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    if (!ex.capture_bodies) out_->push_back("BAD body without capture");
    bodies_[&ex].d[is_request ? 0 : 1].append(reinterpret_cast<const char*>(data), len);
  }
  void End(H2Exchange& ex) override {
    Bodies& b = bodies_[&ex];
    std::ostringstream s;
    s << "END " << ex.stream << " " << (ex.is_grpc ? "grpc" : "h2") << " " << Hex(ex.method) << " " << Hex(ex.scheme) << " "
      << Hex(ex.authority) << " " << Hex(ex.path) << " " << Fields(ex.request_headers) << " " << Fields(ex.request_trailers) << " "
      << ex.status << " " << Fields(ex.response_headers) << " " << Fields(ex.trailers) << " "
      << (ex.has_grpc_status ? std::to_string(ex.grpc_status) : "-") << " " << (ex.has_grpc_message ? "m:" + Hex(ex.grpc_message) : "-")
      << " " << ex.request_bytes << " " << ex.response_bytes << " " << ex.request_messages << " " << ex.response_messages << " "
      << ex.request_compressed << ex.response_compressed << " " << Ms(ex.start_ns) << " " << Ms(ex.response_ns) << " " << Ms(ex.end_ns)
      << " " << (ex.error != nullptr ? ex.error : "-") << " " << Body(ex, b, 0) << " " << Body(ex, b, 1) << " "
      << (ex.unprocessed != Unprocessed::kNo ? UnprocessedName(ex.unprocessed) : "-");
    out_->push_back(s.str());
    bodies_.erase(&ex);
  }
  void GiveUp(GiveUpReason reason) override { out_->push_back(std::string("GU ") + GiveUpReasonName(reason)); }

 private:
  // Per exchange, not per number: an adopted h2c exchange may share its number with a stream.
  struct Bodies {
    std::string d[2];
  };
  static std::string Ms(uint64_t ns) { return std::to_string(ns / kNsPerMs); }
  static std::string Body(const H2Exchange& ex, const Bodies& b, int d) {
    if (!ex.capture_bodies) return "none";
    const uint64_t size = d == 0 ? ex.request_bytes : ex.response_bytes;
    return "b:" + Hex(b.d[d]) + (size > b.d[d].size() ? "+" : "");
  }
  std::vector<std::string>* out_;
  std::map<const H2Exchange*, Bodies> bodies_;
};

}  // namespace test
}  // namespace meshtap
