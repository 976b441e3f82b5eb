// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the native HTTP/1 observer (core/h1-*.cc) and detection (core/detect.cc).
// Any conversation must: never crash or leak; report through the sink only in the contract's
// order (a request head before its response head and end, streams numbered 1, 2, …, each
// exchange ended once, nothing after GiveUp/Upgraded/SwitchedToH2c, every exchange ended once the
// connection closes); report heads and trailers that the head parser accepts again; pass every
// de-framed body byte to BodyData when capturing; and report exactly the same calls however the
// forwarded bytes were split (the split-point property of proxy/http1/split-points.test.ts), or
// whether uncaptured body bytes were skipped (spliced).
// Input: byte 0 = options (bit 0 capture bodies, bits 1-2 head limit, bit 3 a pipelining limit
// of 3, bit 4 a body capture limit of 7 bytes), then ops: 0x00-0x3f client bytes, 0x40-0x7f
// server bytes (length = the next byte, then that many bytes), 0x80 client FIN, 0x81 server FIN,
// other values are ignored.
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/detect.h"
#include "core/h1-head.h"
#include "core/h1-observer.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

struct Op {
  int kind;  // 0 client data, 1 server data, 2 client end, 3 server end
  std::string bytes;
};

class CheckingSink : public H1ExchangeSink {
 public:
  std::string log;

  void RequestHead(H1Exchange& ex) override {
    Check(!is_over_);
    Check(ex.stream == last_stream_ + 1);
    last_stream_ = ex.stream;
    Check(open_.count(ex.stream) == 0);
    meshtap::RequestHead parsed;
    GiveUpReason e;
    Check(ParseRequestHead(ex.request_head, &parsed, &e));
    Check(ex.request_head.size() >= 4 && ex.request_head.compare(ex.request_head.size() - 4, 4, "\r\n\r\n") == 0);
    ex.capture_bodies = capture;
    open_[ex.stream] = State{};
    log += "req " + std::to_string(ex.stream) + " " + ex.method + " " + ex.authority + " " + ex.path + "\n";
  }
  void ResponseHead(H1Exchange& ex) override {
    Check(!is_over_);
    Check(open_.count(ex.stream) == 1 && !open_[ex.stream].has_response);
    open_[ex.stream].has_response = true;
    Check(ex.status >= 100);
    meshtap::ResponseHead parsed;
    GiveUpReason e;
    Check(ParseResponseHead(ex.response_head, &parsed, &e) && parsed.status == ex.status);
    log += "rsp " + std::to_string(ex.stream) + " " + std::to_string(ex.status) + "\n";
  }
  void BodyData(H1Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    Check(!is_over_ && capture && ex.capture_bodies && len > 0);
    Check(open_.count(ex.stream) == 1);
    open_[ex.stream].body[is_request ? 0 : 1].append(reinterpret_cast<const char*>(data), len);
  }
  void End(H1Exchange& ex) override {
    Check(!is_over_);
    Check(open_.count(ex.stream) == 1);
    State& s = open_[ex.stream];
    Check((ex.status != 0) == s.has_response);
    GiveUpReason e;
    if (!ex.request_trailers.empty()) Check(ParseFieldSection(ex.request_trailers, &e));
    if (!ex.trailers.empty()) Check(ParseFieldSection(ex.trailers, &e));
    if (capture) {
      // The first max_body_capture_bytes of each body, exactly.
      Check(s.body[0].size() == std::min<uint64_t>(ex.request_bytes, body_capture));
      Check(s.body[1].size() == std::min<uint64_t>(ex.response_bytes, body_capture));
    }
    log += "end " + std::to_string(ex.stream) + " " + (ex.error ? ex.error : "-") + " " + std::to_string(ex.request_bytes) + " " +
           std::to_string(ex.response_bytes) + " " + s.body[0] + "|" + s.body[1] + "|" + ex.request_trailers + "|" + ex.trailers + "\n";
    open_.erase(ex.stream);
  }
  void GiveUp(GiveUpReason reason) override {
    Check(!is_over_ && open_.empty());
    is_over_ = true;
    log += std::string("giveUp ") + GiveUpReasonName(reason) + "\n";
  }
  void Upgraded() override {
    Check(!is_over_ && open_.empty());
    is_over_ = true;
    log += "upgraded\n";
  }
  void SwitchedToH2c(H1Exchange& ex) override {
    Check(!is_over_ && open_.size() == 1 && open_.count(ex.stream) == 1);
    open_.clear();
    is_over_ = true;
    log += "h2c " + std::to_string(ex.stream) + "\n";
  }
  // After Close, every exchange was ended (or handed to HTTP/2).
  void CheckClosed() { Check(open_.empty()); }

  bool capture = false;
  uint64_t body_capture = 0;

 private:
  struct State {
    bool has_response = false;
    std::string body[2];
  };
  std::map<uint32_t, State> open_;
  uint32_t last_stream_ = 0;
  bool is_over_ = false;
};

enum class Mode { kWhole, kSplit, kSkip };

std::string Run(const std::vector<Op>& ops, bool capture, const ObserverLimits& limits, Mode mode) {
  CheckingSink sink;
  sink.capture = capture;
  sink.body_capture = limits.max_body_capture_bytes;
  H1Observer obs(&sink, limits);
  uint64_t t = 1;
  for (const Op& op : ops) {
    const auto* p = reinterpret_cast<const uint8_t*>(op.bytes.data());
    const size_t n = op.bytes.size();
    if (op.kind == 0 || op.kind == 1) {
      if (mode == Mode::kSkip) {
        // What the observer calls skippable goes by unseen (as the worker's splice does).
        const bool is_client = op.kind == 0;
        for (size_t at = 0; at < n && !obs.IsH2c();) {
          const uint64_t skip = obs.SkippableBytes(is_client);
          const size_t k = skip > 0 ? static_cast<size_t>(skip < n - at ? skip : n - at) : (n - at < 16 ? n - at : 16);
          if (skip > 0) obs.Skipped(is_client, k, t++);
          else if (is_client) obs.ClientData(p + at, k, t++);
          else obs.ServerData(p + at, k, t++);
          at += k;
        }
        if (obs.IsH2c()) break;
        continue;
      }
      // A split run feeds each op in two pieces (never an empty one).
      const size_t cut = mode == Mode::kSplit && n > 1 ? 1 + (n * 7) / 13 % (n - 1) : n;
      for (size_t from = 0; from < n; from = cut > from ? cut : n) {
        const size_t to = cut > from ? cut : n;
        if (op.kind == 0) obs.ClientData(p + from, to - from, t++);
        else obs.ServerData(p + from, to - from, t++);
        if (obs.IsH2c()) break;
      }
    } else if (op.kind == 2) {
      obs.ClientEnd(t++);
    } else {
      obs.ServerEnd(t++);
    }
    if (obs.IsH2c()) break;
  }
  obs.Close(nullptr, t++);
  sink.CheckClosed();
  return sink.log;
}

}  // namespace
}  // namespace meshtap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshtap;
  if (size == 0) return 0;
  const uint8_t options = data[0];
  ObserverLimits limits;
  static const size_t kHeadLimits[] = {64 * 1024, 4096, 256, 64};
  limits.max_header_bytes = kHeadLimits[(options >> 1) & 3];
  if (options & 8) limits.max_streams = 3;
  if (options & 16) limits.max_body_capture_bytes = 7;
  std::vector<Op> ops;
  std::string first_client;
  for (size_t i = 1; i < size;) {
    const uint8_t op = data[i++];
    if (op < 0x80) {
      const size_t want = i < size ? data[i++] : 0;
      const size_t n = want < size - i ? want : size - i;
      ops.push_back({op < 0x40 ? 0 : 1, std::string(reinterpret_cast<const char*>(data + i), n)});
      if (op < 0x40 && first_client.size() < kDetectMaxBytes) first_client.append(reinterpret_cast<const char*>(data + i), n);
      i += n;
    } else if (op == 0x80 || op == 0x81) {
      ops.push_back({op == 0x80 ? 2 : 3, std::string()});
    }
  }
  // Detection decides within kDetectMaxBytes, and only looks at those.
  const Detection d = DetectProtocol(reinterpret_cast<const uint8_t*>(first_client.data()), first_client.size());
  if (first_client.size() >= kDetectMaxBytes) Check(d != Detection::kNeedMore);
  const bool capture = (options & 1) != 0;
  const std::string whole = Run(ops, capture, limits, Mode::kWhole);
  Check(whole == Run(ops, capture, limits, Mode::kSplit));
  // Skipping (splice) what the observer calls skippable must change nothing it reports.
  Check(whole == Run(ops, capture, limits, Mode::kSkip));
  return 0;
}
