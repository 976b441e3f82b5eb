// SPDX-License-Identifier: Apache-2.0
// Test driver for native/h2-observer.test.ts: plays HTTP/2 conversations (one operation per line,
// see that file) through the C++ H2Observer (frames, HPACK through libnghttp2, the stream side)
// and prints every sink call in the format the test prints for the js observer, so that the two
// can be compared exactly. Not part of the addon; built by the test with the system compiler.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/h2-observer.h"

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
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string Fields(const H2FieldList& list) {
  std::string out = std::to_string(list.size());
  for (const H2Field& f : list) out += ":" + Hex(f.name) + "=" + Hex(f.value);
  return out;
}

class PrintingSink : public H2ExchangeSink {
 public:
  bool capture = false;
  uint64_t limit = 0;
  std::vector<std::string>* out = nullptr;

  void RequestHead(H2Exchange& ex) override {
    ex.capture_bodies = capture;
    bodies_[ex.stream] = Bodies{};
    out->push_back("RH " + std::to_string(ex.stream));
  }
  void ResponseHead(H2Exchange& ex) override { out->push_back("RS " + std::to_string(ex.stream) + " " + std::to_string(ex.status) + " " + Ms(ex.response_ns)); }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    bodies_[ex.stream].data[is_request ? 0 : 1].append(reinterpret_cast<const char*>(data), len);
  }
  void End(H2Exchange& ex) override {
    Bodies& b = bodies_[ex.stream];
    std::ostringstream s;
    s << "END " << ex.stream << " " << (ex.is_grpc ? "grpc" : "h2") << " " << Hex(ex.method) << " " << Hex(ex.scheme) << " " << Hex(ex.authority) << " "
      << Hex(ex.path) << " " << Fields(ex.request_headers) << " " << Fields(ex.request_trailers) << " " << ex.status << " " << Fields(ex.response_headers)
      << " " << Fields(ex.trailers) << " " << (ex.has_grpc_status ? std::to_string(ex.grpc_status) : "-") << " "
      << (ex.has_grpc_message ? "m:" + Hex(ex.grpc_message) : "-") << " " << ex.request_bytes << " " << ex.response_bytes << " " << ex.request_messages
      << " " << ex.response_messages << " " << ex.request_compressed << ex.response_compressed << " " << Ms(ex.start_ns) << " " << Ms(ex.response_ns) << " "
      << Ms(ex.end_ns) << " " << (ex.error != nullptr ? ex.error : "-") << " " << Body(b, 0, ex.request_bytes) << " " << Body(b, 1, ex.response_bytes);
    out->push_back(s.str());
    bodies_.erase(ex.stream);
  }
  void GiveUp(GiveUpReason reason) override { out->push_back(std::string("GU ") + GiveUpReasonName(reason)); }

 private:
  struct Bodies {
    std::string data[2];
  };
  static std::string Ms(uint64_t ns) { return std::to_string(ns / kNsPerMs); }
  std::string Body(const Bodies& b, int d, uint64_t size) const {
    if (!capture) return "none";
    return "b:" + Hex(b.data[d]) + (size > b.data[d].size() ? "+" : "");
  }
  std::map<uint32_t, Bodies> bodies_;
};

}  // namespace

int main() {
  std::string line;
  std::vector<std::string> out;
  PrintingSink sink;
  sink.out = &out;
  std::unique_ptr<H2Observer> obs;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "begin") {
      // begin <max header bytes> <max streams> <max hpack table> <capture 0|1> <body limit>
      ObserverLimits limits;
      int capture = 0;
      in >> limits.max_header_bytes >> limits.max_streams >> limits.max_hpack_table_bytes >> capture >> limits.max_body_capture_bytes;
      sink.capture = capture != 0;
      sink.limit = limits.max_body_capture_bytes;
      obs = std::make_unique<H2Observer>(&sink, limits);
    } else if (op == "c" || op == "s") {
      uint64_t ms = 0;
      std::string hex;
      in >> ms >> hex;
      const std::string bytes = Unhex(hex);
      const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
      if (op == "c") obs->ClientData(p, bytes.size(), ms * kNsPerMs);
      else obs->ServerData(p, bytes.size(), ms * kNsPerMs);
    } else if (op == "ce" || op == "se") {
      uint64_t ms = 0;
      in >> ms;
      if (op == "ce") obs->ClientEnd(ms * kNsPerMs);
      else obs->ServerEnd(ms * kNsPerMs);
    } else if (op == "close") {
      uint64_t ms = 0;
      std::string error;
      in >> ms >> error;
      obs->Close(error == "-" ? nullptr : error.c_str(), ms * kNsPerMs);
      obs.reset();
      out.push_back("DONE");
      for (const std::string& o : out) std::cout << o << "\n";
      std::cout.flush();
      out.clear();
    }
  }
  return 0;
}
