// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the native HTTP/2 stream tracker (core/h2-streams.cc) driven by any
// sequence of the calls the frame side makes. Whatever the order (streams reset twice, data for
// unknown or even ids, trailers before heads, GOAWAY then new streams, floods of client resets,
// late or early deadlines), it must: never crash or leak; keep open streams ≤ max_streams and
// client-reset streams ≤ kMaxResetPending; report through the sink only in the contract's order
// (RequestHead once per stream before its ResponseHead (once, never 1xx) and End (once), body
// bytes only while capturing and at most the body limit per direction); give every ended gRPC
// stream a status unless the observer gave up; refuse a new stream only at the bound; and end
// every stream, with no deadline left, once EndAll runs.
// Input: byte 0 = options (bits 0-2: max_streams - 1, bit 3: max_streams 1000, bit 4: capture
// bodies, bit 5: body limit 7 bytes, bit 6: adopt an h2c stream 1), then ops (op byte, operands;
// a stream byte 0x80-0xbf means the next fresh odd id, 0xc0-0xff the last fresh one, else the
// id itself).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "core/h2-streams.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

struct Open {
  bool has_response = false;
  uint64_t body[2] = {0, 0};
};

class CheckingSink : public H2ExchangeSink {
 public:
  explicit CheckingSink(const ObserverLimits& limits) : limits_(limits) {}
  std::map<uint32_t, Open> open;
  bool capture = false;
  size_t ended = 0;

  void RequestHead(H2Exchange& ex) override {
    Check(ex.stream % 2 == 1 && open.count(ex.stream) == 0);
    open[ex.stream] = Open{};
    ex.capture_bodies = capture;
  }
  void ResponseHead(H2Exchange& ex) override {
    Check(open.count(ex.stream) == 1 && !open[ex.stream].has_response);
    Check(ex.status < 100 || ex.status >= 200);
    open[ex.stream].has_response = true;
  }
  void BodyData(H2Exchange& ex, bool is_request, const uint8_t* data, size_t len) override {
    Check(open.count(ex.stream) == 1 && ex.capture_bodies && len > 0);
    uint64_t& got = open[ex.stream].body[is_request ? 0 : 1];
    got += len;
    Check(got <= limits_.max_body_capture_bytes);
    Check(got <= (is_request ? ex.request_bytes : ex.response_bytes));
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) sum += data[i];  // the view is readable
  }
  void End(H2Exchange& ex) override {
    Check(open.erase(ex.stream) == 1);
    Check(ex.end_ns >= ex.start_ns);
    if (ex.is_grpc && !(ex.error != nullptr && std::strcmp(ex.error, exchange_error::kGaveUp) == 0)) Check(ex.has_grpc_status);
    if (!ex.is_grpc) Check(ex.request_messages == 0 && ex.response_messages == 0);
    ended++;
  }
  void GiveUp(GiveUpReason) override { Check(false); }

 private:
  ObserverLimits limits_;
};

const char* const kStatuses[] = {"200", "100", "103", "204", "404", "503", "abc", "", "2000", "429"};
const char* const kGrpcStatuses[] = {"0", "13", "abc", "9999999999", "", " 1", "12345678901", "4"};
const char* const kMessages[] = {"ok", "caf%C3%A9", "%", "%zz%4", "\xc3", "%F0%9F%98%80x", "\xed\xa0\x80%ED"};
const char* const kTimeouts[] = {"100m", "1S", "1500u", "99999999H", "x", "", "0n"};
const char* const kContentTypes[] = {"application/grpc", "application/grpc+proto", "application/json", ""};

}  // namespace
}  // namespace meshtap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshtap;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  ObserverLimits limits;
  limits.max_streams = (opts & 8) ? 1000 : 1 + (opts & 7);
  limits.max_body_capture_bytes = (opts & 32) ? 7 : 64 * 1024;
  CheckingSink sink(limits);
  sink.capture = (opts & 16) != 0;
  H2StreamTracker tracker(&sink, limits);
  uint64_t now = 1000;
  uint32_t fresh = 1;
  if (opts & 64) {
    H2Exchange ex;
    ex.stream = 1;  // the HTTP/1 sequence number: 1 keeps the sink's bookkeeping simple
    ex.start_ns = now;
    ex.capture_bodies = sink.capture;
    tracker.AdoptUpgraded(std::move(ex));
    sink.open[1] = Open{};
    fresh = 3;
  }
  size_t pos = 1;
  auto next = [&]() -> uint8_t { return pos < size ? data[pos++] : 0; };
  auto stream = [&]() -> uint32_t {
    const uint8_t b = next();
    if (!(b & 0x80)) return b;
    if (b & 0x40) return fresh > 1 ? fresh - 2 : 1;
    const uint32_t id = fresh;
    fresh += 2;
    return id;
  };
  while (pos < size) {
    const uint8_t op = next() % 12;
    now += 1000 * (next() % 4);
    switch (op) {
      case 0: {
        const uint32_t id = stream();
        const uint8_t fl = next();
        H2FieldList h = {{":method", "POST"}, {":path", "/p"}, {"content-type", kContentTypes[(fl >> 1) % 4]}};
        if (fl & 8) h.push_back({"grpc-timeout", kTimeouts[(fl >> 4) % 7]});
        const size_t before = tracker.OpenStreams();
        const bool ok = tracker.RequestHeaders(id, std::move(h), (fl & 1) != 0, now);
        if (!ok) Check(before >= limits.max_streams);
        break;
      }
      case 1: {
        const uint32_t id = stream();
        const uint8_t fl = next();
        H2FieldList h;
        if (fl & 2) h.push_back({":status", kStatuses[(fl >> 2) % 10]});
        if (fl & 64) h.push_back({"grpc-status", kGrpcStatuses[next() % 8]});
        if (fl & 128) h.push_back({"grpc-message", kMessages[next() % 7]});
        tracker.ResponseHeaders(id, std::move(h), (fl & 1) != 0, now);
        break;
      }
      case 2:
      case 3: {
        const uint32_t id = stream();
        const size_t n = std::min<size_t>(next(), size - pos);
        tracker.Data(op == 2, id, data + pos, n);
        pos += n;
        break;
      }
      case 4:
      case 5:
        tracker.DataEndStream(op == 4, stream(), now);
        break;
      case 6: {
        const uint32_t id = stream();
        const uint8_t code = next();
        tracker.Reset(id, code % 16, (code & 0x80) != 0, now);
        break;
      }
      case 7:
        tracker.Goaway(stream(), now);
        break;
      case 8: {
        now += 100000000ull * next();  // up to 25.5 s
        // A driver may be late, never early: fire what is due, as a timer would.
        while (tracker.NextDeadlineNs() <= now) {
          const uint64_t due = tracker.NextDeadlineNs();
          tracker.OnDeadline(now);
          Check(tracker.NextDeadlineNs() != due || tracker.NextDeadlineNs() > now);
        }
        break;
      }
      case 9:
        tracker.ServerEnded(now);
        break;
      case 10:
        tracker.OnDeadline(now);  // early or on time: must be harmless
        break;
      default:
        if (next() & 1) tracker.EndAll(h2_error::kClosed, now);
        break;
    }
    Check(tracker.OpenStreams() <= limits.max_streams + ((opts & 64) ? 1 : 0));
    Check(tracker.ResetPending() <= kMaxResetPending);
    Check(sink.open.size() == tracker.OpenStreams() + tracker.ResetPending());
    if (tracker.ResetPending() > 0) Check(tracker.NextDeadlineNs() != H2StreamTracker::kNoDeadline);
  }
  tracker.EndAll((opts & 128) ? exchange_error::kGaveUp : h2_error::kClosed, now);
  Check(sink.open.empty() && tracker.OpenStreams() == 0 && tracker.ResetPending() == 0);
  Check(tracker.NextDeadlineNs() == H2StreamTracker::kNoDeadline);
  return 0;
}
