// SPDX-License-Identifier: Apache-2.0
// The stream side of the native HTTP/2 observer: proxy/h2/stream-tracker.ts in C++, state for
// state, so that both engines report the same exchanges. It turns decoded header blocks and DATA
// of client-initiated streams into H2Exchange records, from request HEADERS to both END_STREAMs
// (or a reset, GOAWAY, the connection gone), with gRPC message counts and statuses (derived as
// grpc-status.ts does when the server sent none), and reports them to an H2ExchangeSink. Streams
// are forgotten as soon as they end: memory is bounded by max_streams open streams plus
// kMaxResetPending client-reset streams waiting out their grace.
//
// Driven by the frame side (h2-observer.*), which owns the frame reader and HPACK and calls the
// methods below in wire order per direction. Times are CLOCK_MONOTONIC ns passed in; C++ has no
// setTimeout, so the client-reset grace is a deadline the driver honours: after any call, ask
// NextDeadlineNs() and call OnDeadline(now) once that time has come (late is fine: it only
// delays the ends, as a late JS timer does).
//
// Never blocks. Throws nothing but std::bad_alloc (and what a sink throws, which sinks must
// not): the driver catches at its entry points and gives up (kInternal), as H1Observer does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "grpc-framing.h"
#include "h2-exchange.h"
#include "h2-open-streams.h"

namespace meshtap {

// How long a stream the client reset stays open for a response already on its way (the
// client's RST_STREAM and the server's trailers can cross: gRPC's cancel_after_first_response
// shows it about one run in ten). Streams wait one to two times this (batches), as in JS.
constexpr uint64_t kResetGraceNs = 1000ull * 1000 * 1000;  // stream-tracker.ts RESET_GRACE_MS
// Most client-reset streams waiting at once; past it the oldest ends at once (rapid-reset floods).
constexpr size_t kMaxResetPending = 128;  // stream-tracker.ts MAX_RESET_PENDING

class H2StreamTracker {
 public:
  // No deadline pending (NextDeadlineNs).
  static constexpr uint64_t kNoDeadline = UINT64_MAX;

  H2StreamTracker(H2ExchangeSink* sink, const ObserverLimits& limits);
  // Frees open streams without reporting them: call EndAll first to report them.
  ~H2StreamTracker();
  H2StreamTracker(const H2StreamTracker&) = delete;
  H2StreamTracker& operator=(const H2StreamTracker&) = delete;

  // An empty field list for the next header block: one that an ended stream of this thread left
  // behind when there is one, else a new one with room for a usual block.
  static H2FieldList TakeFieldList();

  // Open streams (not counting client-reset streams in their grace).
  size_t OpenStreams() const { return streams_.size(); }
  // Client-reset streams waiting for a response that crossed the reset (≤ kMaxResetPending).
  size_t ResetPending() const { return reset_order_.size(); }

  // An HTTP/1 request upgraded to h2c (RFC 7540 §3.2) is stream 1, its request already complete
  // and already reported (RequestHead is not called again); its response comes as h2 frames.
  // The tracker sets from_h2c and is_grpc = false (protocol h2, as adoptUpgraded does); ex.stream
  // stays the HTTP/1 exchange's sequence number, which keeps its id (as in JS).
  void AdoptUpgraded(H2Exchange&& ex);

  // A header block from the client (pseudo-headers included, wire order). Returns false when
  // a new stream would exceed limits.max_streams: the caller gives up (kH2TooManyStreams).
  bool RequestHeaders(uint32_t stream_id, H2FieldList&& headers, bool is_end_stream, uint64_t now_ns);
  // A header block from the server: informational (1xx, dropped), the final head, or trailers.
  void ResponseHeaders(uint32_t stream_id, H2FieldList&& headers, bool is_end_stream, uint64_t now_ns);
  // DATA payload (padding already removed) of one stream in one direction; counted, gRPC-framed,
  // and passed to the sink's BodyData while ex.capture_bodies, up to max_body_capture_bytes.
  void Data(bool is_from_client, uint32_t stream_id, const uint8_t* data, size_t len);
  // A DATA frame carried END_STREAM (called after its Data).
  void DataEndStream(bool is_from_client, uint32_t stream_id, uint64_t now_ns);
  // RST_STREAM with HTTP/2 error `code`: over, and an error unless the response was complete.
  // A client's reset waits kResetGraceNs for a response that crossed it.
  void Reset(uint32_t stream_id, uint32_t code, bool is_from_client, uint64_t now_ns);
  // The server's GOAWAY (31-bit last-stream-id): client streams above it were never processed.
  void Goaway(uint32_t last_stream_id, uint64_t now_ns);
  // The server will send nothing more: streams with a complete response end cleanly, others
  // with upstream-closed; client-reset streams end with reset.
  void ServerEnded(uint64_t now_ns);
  // Ends every open stream with `error` (a static string: the connection's close reason,
  // exchange_error::kGaveUp, h2_error::kClosed), streams whose response was complete cleanly.
  void EndAll(const char* error, uint64_t now_ns);

  // When OnDeadline must next be called, or kNoDeadline.
  uint64_t NextDeadlineNs() const { return timer_armed_ ? timer_deadline_ns_ : kNoDeadline; }
  // The grace timer's time came: ends the client-reset streams of the batch it was armed for.
  // Does nothing before NextDeadlineNs().
  void OnDeadline(uint64_t now_ns);

 private:
  struct Stream {
    uint32_t id = 0;  // the HTTP/2 stream id (ex.stream differs for an adopted h2c exchange)
    H2Exchange ex;
    bool is_request_ended = false;
    bool is_response_ended = false;
    bool has_response_head = false;
    bool has_grpc = false;  // counters below are live (gRPC request, not an adopted h2c stream)
    GrpcMessageCounter grpc_request;
    GrpcMessageCounter grpc_response;
    bool has_reset_code = false;
    uint32_t reset_code = 0;           // HTTP/2 error code of the RST_STREAM that ended it
    bool is_grpc_status_malformed = false;
    bool is_status_malformed = false;  // its response head's :status was missing or not 3 digits
    bool in_reset_grace = false;        // waits in reset_pending_
    uint64_t reset_batch = 0;           // the grace batch it waits in
    std::optional<double> grpc_timeout_ms;
    uint64_t body_captured[2] = {0, 0};  // bytes handed to BodyData: request, response
  };
  using StreamPtr = std::unique_ptr<Stream>;

  // What one thread keeps of ended streams for the next ones (h2-streams.cc says why).
  struct Spares;
  static Spares& ThreadSpares();
  // A new stream: one an ended stream of this thread left behind when there is one.
  static StreamPtr NewStream();
  // Keeps an ended stream and its field lists for reuse, within this thread's bounds.
  static void Recycle(StreamPtr st) noexcept;
  using StreamTable = SortedStreamTable<StreamPtr>;
  Stream* Find(uint32_t stream_id);
  Stream* FindPending(uint32_t stream_id);
  void RequestEnded(Stream* st, uint64_t now_ns);
  void ResponseEnded(Stream* st, uint64_t now_ns);
  void ApplyGrpcStatus(Stream* st, const H2FieldList& headers);
  void DeriveGrpcStatus(Stream* st, const char* error);
  // Takes the stream out of its map, reports End, destroys it.
  void Finish(Stream* st, const char* error, uint64_t now_ns);
  void ArmResetTimer(uint64_t now_ns);
  // Ends client-reset streams of batches up to `batch` (all of them and the timer when nullopt).
  void FlushResets(std::optional<uint64_t> batch, uint64_t now_ns);

  H2ExchangeSink* const sink_;
  const ObserverLimits limits_;
  // Open streams by id; ids only grow, so id order is the JS Map's insertion order.
  StreamTable streams_;
  // Highest client stream id seen: lower ids are closed (RFC 9113 §5.1.1).
  uint32_t last_client_stream_ = 0;
  // Added to a stream id to make its exchange's number (ex.stream): after an h2c upgrade by the
  // connection's Nth HTTP/1 request, N - 1 (AdoptUpgraded), else 0.
  uint32_t number_offset_ = 0;
  // Streams above the server's GOAWAY last-stream-id will not be processed.
  uint64_t goaway_last_stream_ = UINT64_MAX;
  // Client-reset streams in their grace: by id, and in the order they were reset (oldest first).
  std::map<uint32_t, StreamPtr> reset_pending_;
  std::vector<uint32_t> reset_order_;
  bool timer_armed_ = false;
  uint64_t timer_deadline_ns_ = 0;
  uint64_t timer_batch_ = 0;
  uint64_t reset_batch_ = 0;
};

}  // namespace meshtap
