// SPDX-License-Identifier: Apache-2.0
// The bounded, C++-owned batch of compact records the epoll workers hand to the JS thread.
//
// Why a batch and a doorbell: waking the JS thread costs 8-10 us of JS CPU per wake (about
// one whole haproxy request, NATIVE.md), so records accumulate here and the JS thread is woken
// at most about once per millisecond; it then takes the whole batch at once (one buffer handed
// over without a copy) and decodes it. Bounded by bytes: data records may use the capacity
// minus a reserve kept for control records (open/close/counts), so that a flood of bytes can
// cost observation (the caller stops observing that connection and says so) but never loses
// the record that closes a connection JS is following.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace meshtap {

// Record types (native/index.ts decodes the same numbers).
enum RecordType : uint8_t {
  kRecOpen = 1,         // code: 0 inbound / 1 outbound; payload "src\ndst"
  kRecClientData = 2,   // payload: bytes forwarded client -> server
  kRecServerData = 3,   // payload: bytes forwarded server -> client
  kRecClientEnd = 4,    // the client half-closed
  kRecServerEnd = 5,    // the server half-closed
  kRecClose = 6,        // code: AbortCode; the connection is gone
  kRecConnectError = 7, // code: 0 inbound / 1 outbound; payload: errno name or reason
  kRecBoundHit = 8,     // payload: bound name
  kRecLost = 9,         // observation of this connection was dropped (batch full)
  // Written by the C++ observers (detect-driver.h, h1-record-sink.h); "u32 stream" is the
  // exchange's 1-based sequence number. Heads and trailers are the bytes sent (latin1).
  kRecDetected = 10,    // code: 1 h1, 2 h2, 3 opaque; payload: why (trace text; "timeout" counts detect-timeout)
  kRecReqHead = 11,     // code: 1 when body records follow for it; payload: u32 stream, request head; time: start
  kRecRspHead = 12,     // payload: u32 stream, final response head (or the 101 / CONNECT 2xx); time: response
  kRecBody = 13,        // code: 0 request / 1 response; payload: u32 stream, de-framed body bytes (<= body limit in all)
  kRecExEnd = 14,       // code: 1 when the response came whole (H1Exchange::response_complete); payload: u32 stream, u32 error len, u32 request trailers len, u32 trailers len,
                        //   u64 request bytes, u64 response bytes, error, request trailers, trailers; time: end
  kRecGiveUp = 15,      // code: GiveUpReason (proxy/observe.ts GIVE_UP_REASONS index); nothing follows
  kRecUpgraded = 16,    // the connection switched protocols (opaque from here); nothing follows
  kRecH2c = 17,         // code: 0 the bytes follow as data records (the js HTTP/2 observer), 1 the C++ HTTP/2
                        //   observer follows (h2 records); payload: u32 stream: that exchange continues as stream 1
  // Written by the C++ HTTP/2 sink (h2-record-sink.h) for streams begun while tapped. str = u32
  // length + bytes; fields = u32 count, then per field u32 name length, u32 value length, name,
  // value (h2-exchange.h: names are octets, read as latin1; values and the strings from them are
  // the js observer's decoded text as UTF-8; pseudo-headers included, wire order). Body bytes of
  // a stream come as kRecBody (DATA payload, gRPC messages with their prefixes).
  kRecH2ReqHead = 18,   // code: H2HeadCode bits; payload: u32 stream, str method, str scheme, str authority,
                        //   str path, fields request headers; time: start
  kRecH2RspHead = 19,   // payload: u32 stream, u32 status, fields response headers; time: response
  kRecH2End = 20,       // payload: u32 stream, u32 H2EndFlags, u64 grpc status, u32 request messages,
                        //   u32 response messages, u64 request bytes, u64 response bytes, str error,
                        //   str grpc message (percent-decoded, UTF-8), fields request trailers,
                        //   fields trailers; time: end
};

// kRecDetected codes beyond Detection's: the connection is HTTP/2 and the C++ observer follows it
// (h2 records, no bytes), where kH2 (2) means its bytes follow for the js observer.
constexpr uint8_t kDetectedH2Native = 4;

// kRecReqHead / kRecRspHead code bit: the payload is u32 stream, u32 head length, head, json (below).
constexpr uint8_t kH1HeadJson = 2;
// "json", after a record's fields (kRecH2ReqHead, kRecH2RspHead, kRecH2End, kRecExEnd; the HTTP/1
// heads with kH1HeadJson) when the event is written as JSON (tap-event-json.h): u32 identity at,
// u32 cut from, u32 cut to, u32 body chars, str text (ASCII). Absent: the record ends before it.
// kRecH2ReqHead code bits.
enum H2HeadCode : uint8_t { kH2HeadBodies = 1, kH2HeadGrpc = 2 };
// kRecH2End flag bits.
enum H2EndFlags : uint32_t {
  kH2EndHasGrpcStatus = 1,
  kH2EndHasGrpcMessage = 2,
  kH2EndRequestCompressed = 4,
  kH2EndResponseCompressed = 8,
  kH2EndHasError = 16,
  // The server never processed the stream (h2-exchange.h Unprocessed): refused, or past a GOAWAY.
  kH2EndUnprocessedRefused = 32,
  kH2EndUnprocessedGoaway = 64,
};

// Why a connection ended (proxy/engine.ts CloseReason values, in this order).
enum AbortCode : uint8_t { kAbortNone = 0, kAbortReset, kAbortClientError, kAbortUpstreamError, kAbortConnectFailed, kAbortIdleTimeout };

// type u8, code u8, reserved u16, conn u32, len u32, reserved u32, time ns (CLOCK_MONOTONIC) u64.
constexpr size_t kRecordHeaderBytes = 24;

class EventRing {
 public:
  explicit EventRing(size_t cap_bytes);
  ~EventRing();
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Appends one record; false when it does not fit (data records leave kControlReserve free).
  bool Append(RecordType type, uint8_t code, uint32_t conn, uint64_t t_ns, const void* data, uint32_t len, bool is_control);
  // Takes every pending record: the caller owns the returned malloc'd buffer (nullptr if none).
  uint8_t* Take(size_t* len);
  bool HasPending();

  // Doorbell state shared by all workers: at most one wake in flight, at most one per interval.
  std::atomic<bool> bell_pending{false};
  std::atomic<uint64_t> last_bell_ns{0};

 private:
  static constexpr size_t kControlReserve = 64 * 1024;
  std::mutex mu_;
  uint8_t* buf_ = nullptr;
  size_t used_ = 0;
  size_t alloc_ = 0;
  const size_t cap_;
};

uint64_t MonotonicNs();

}  // namespace meshtap
