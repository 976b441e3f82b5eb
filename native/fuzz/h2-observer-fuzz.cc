// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the native HTTP/2 observer (core/h2-observer.cc with the frame reader, the
// HPACK path and the stream side). Any conversation must: never crash, leak or read out of
// bounds; report through the sink only in the contract's order (a stream's request head before
// its response head and its end, each stream ended once, BodyData only while capturing and within
// the capture limit, nothing after GiveUp, every stream ended once the connection closes); and
// report exactly the same calls however the forwarded bytes were split into reads (whole, at
// pseudo-random points, one byte at a time): the split-point property of
// proxy/h2/observer-splits.test.ts, here over preface, frame headers, padding, CONTINUATION and
// HPACK alike.
// Input: byte 0 = options (bit 0 capture bodies, bits 1-2 header limit 65536 / 4096 / 256 / 64,
// bit 3 a stream limit of 3, bit 4 a body capture limit of 7 bytes, bit 5 an HPACK table limit
// of 0), then ops: 0x00-0x3f client bytes, 0x40-0x7f server bytes (length = the next byte, then
// that many bytes), 0x80 client FIN, 0x81 server FIN, 0x82 1.5 s pass (the reset grace's
// deadline fires when due), 0x83 the connection closes with "reset" (else it closes without a
// reason at the end); other values are ignored.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/h2-observer.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

struct Op {
  int kind;  // 0 client data, 1 server data, 2 client end, 3 server end, 4 time passes, 5 close
  std::string bytes;
};

std::string Fields(const H2FieldList& list) {
  std::string out;
  for (const H2Field& f : list) out += f.name + "=" + f.value + ";";
  return out;
}

class CheckingSink : public H2ExchangeSink {
 public:
  std::string log;
  bool capture = false;
  uint64_t body_capture = 0;

  void RequestHead(H2Exchange& ex) override {
    Check(!is_over_ && open_.count(ex.stream) == 0 && ex.stream % 2 == 1 && ex.stream > last_stream_);
    last_stream_ = ex.stream;
    ex.capture_bodies = capture;
    open_[ex.stream] = State{};
    log += "req " + std::to_string(ex.stream) + " " + (ex.is_grpc ? "grpc " : "h2 ") + ex.method + " " + ex.scheme + " " + ex.authority + " " +
           ex.path + " " + Fields(ex.request_headers) + "\n";
  }
  void ResponseHead(H2Exchange& ex) override {
    Check(!is_over_ && open_.count(ex.stream) == 1 && !open_[ex.stream].has_response);
    Check(ex.status < 100 || ex.status >= 200);
    open_[ex.stream].has_response = true;
    log += "rsp " + std::to_string(ex.stream) + " " + std::to_string(ex.status) + " " + Fields(ex.response_headers) + "\n";
  }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    Check(!is_over_ && capture && ex.capture_bodies && len > 0 && open_.count(ex.stream) == 1);
    std::string& body = open_[ex.stream].body[is_request ? 0 : 1];
    body.append(reinterpret_cast<const char*>(data), len);
    Check(body.size() <= body_capture);
  }
  void End(H2Exchange& ex) override {
    Check(!is_over_ && open_.count(ex.stream) == 1);
    State& s = open_[ex.stream];
    if (capture) {
      Check(s.body[0].size() == std::min<uint64_t>(ex.request_bytes, body_capture));
      Check(s.body[1].size() == std::min<uint64_t>(ex.response_bytes, body_capture));
    }
    log += "end " + std::to_string(ex.stream) + " " + (ex.error != nullptr ? ex.error : "-") + " " + std::to_string(ex.status) + " " +
           std::to_string(ex.request_bytes) + "/" + std::to_string(ex.response_bytes) + " msgs " + std::to_string(ex.request_messages) + "/" +
           std::to_string(ex.response_messages) + (ex.request_compressed ? "c" : "") + (ex.response_compressed ? "c" : "") + " grpc " +
           (ex.has_grpc_status ? std::to_string(ex.grpc_status) : "-") + " " + (ex.has_grpc_message ? ex.grpc_message : "-") + " " +
           Fields(ex.request_trailers) + "|" + Fields(ex.trailers) + "|" + s.body[0] + "|" + s.body[1] + "\n";
    open_.erase(ex.stream);
  }
  void GiveUp(GiveUpReason reason) override {
    Check(!is_over_ && open_.empty());
    is_over_ = true;
    log += std::string("giveUp ") + GiveUpReasonName(reason) + "\n";
  }
  // After Close, every stream was ended.
  void CheckClosed() { Check(open_.empty()); }

 private:
  struct State {
    bool has_response = false;
    std::string body[2];
  };
  std::map<uint32_t, State> open_;
  uint32_t last_stream_ = 0;
  bool is_over_ = false;
};

enum class Mode { kWhole, kSplit, kBytes };

std::string Run(const std::vector<Op>& ops, bool capture, const ObserverLimits& limits, Mode mode) {
  CheckingSink sink;
  sink.capture = capture;
  sink.body_capture = limits.max_body_capture_bytes;
  H2Observer obs(&sink, limits);
  // Reads take a nanosecond each; only 0x82 moves the clock far (the grace deadlines depend on
  // the ops, never on the chunking).
  uint64_t t = 1;
  uint32_t seed = 2166136261u;
  const char* close_error = nullptr;
  for (const Op& op : ops) {
    const auto* p = reinterpret_cast<const uint8_t*>(op.bytes.data());
    const size_t n = op.bytes.size();
    if (op.kind == 0 || op.kind == 1) {
      for (size_t at = 0; at < n;) {
        size_t k = n - at;
        if (mode == Mode::kBytes) {
          k = 1;
        } else if (mode == Mode::kSplit) {
          seed = (seed ^ p[at]) * 16777619u;
          const size_t cut = 1 + (seed >> 8) % 23;
          if (cut < k) k = cut;
        }
        if (op.kind == 0) obs.ClientData(p + at, k, t++);
        else obs.ServerData(p + at, k, t++);
        at += k;
      }
    } else if (op.kind == 2) {
      obs.ClientEnd(t++);
    } else if (op.kind == 3) {
      obs.ServerEnd(t++);
    } else if (op.kind == 4) {
      t += 1500ull * 1000 * 1000;
      if (obs.NextDeadlineNs() <= t) obs.Deadline(t);
      // The deadline moves on: a second batch may be due later, never now.
      Check(obs.NextDeadlineNs() > t);
    } else {
      close_error = "reset";
      break;
    }
  }
  obs.Close(close_error, t++);
  sink.CheckClosed();
  Check(obs.NextDeadlineNs() == H2StreamTracker::kNoDeadline);
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
  if (options & 32) limits.max_hpack_table_bytes = 0;
  std::vector<Op> ops;
  size_t data_bytes = 0;
  for (size_t i = 1; i < size;) {
    const uint8_t op = data[i++];
    if (op < 0x80) {
      const size_t want = i < size ? data[i++] : 0;
      const size_t n = want < size - i ? want : size - i;
      ops.push_back({op < 0x40 ? 0 : 1, std::string(reinterpret_cast<const char*>(data + i), n)});
      data_bytes += n;
      i += n;
    } else if (op <= 0x83) {
      ops.push_back({op - 0x80 + 2, std::string()});
    }
  }
  const bool capture = (options & 1) != 0;
  const std::string whole = Run(ops, capture, limits, Mode::kWhole);
  Check(whole == Run(ops, capture, limits, Mode::kSplit));
  if (data_bytes < 2048) Check(whole == Run(ops, capture, limits, Mode::kBytes));
  return 0;
}
