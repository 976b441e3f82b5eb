// SPDX-License-Identifier: Apache-2.0
// The native HTTP/2 connection observer: proxy/h2/observer.ts + observer-side.ts in C++, rule for
// rule, so that both engines report the same streams and give up on the same bytes. It checks the
// client preface, reads frames in both directions (h2-frames.h), assembles header blocks
// (HEADERS/PUSH_PROMISE + CONTINUATION), decodes every block with that direction's HPACK decoder
// (h2-hpack.h: HPACK state is connection-wide, so even unwatched blocks are decoded), follows the
// SETTINGS that change framing or HPACK limits (a side's SETTINGS limit what the *other* side may
// send), and hands stream events to the stream side (h2-streams.h), which reports to the sink.
//
// It biases towards availability: anything it cannot follow costs only the observation of this
// connection (one GiveUp: h2-frame, h2-hpack, h2-header-too-large, h2-too-many-streams, or
// internal when something inside threw, e.g. out of memory), never the forwarded bytes; no
// exception leaves it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "h2-exchange.h"
#include "h2-frames.h"
#include "h2-hpack.h"
#include "h2-streams.h"

namespace meshtap {

class H2Observer {
 public:
  H2Observer(H2ExchangeSink* sink, const ObserverLimits& limits);
  ~H2Observer();
  H2Observer(const H2Observer&) = delete;
  H2Observer& operator=(const H2Observer&) = delete;

  // Bytes forwarded client -> server / server -> client (views), read at now_ns. The client's
  // begin with the connection preface; a server that spoke first is simply fed first.
  void ClientData(const uint8_t* p, size_t n, uint64_t now_ns);
  void ServerData(const uint8_t* p, size_t n, uint64_t now_ns);
  // The client half-closed: the server may still answer requests already sent, nothing ends.
  void ClientEnd(uint64_t now_ns) {}
  // The server half-closed: streams with a complete response end, others end upstream-closed.
  void ServerEnd(uint64_t now_ns);
  // The connection is gone: open streams end with `error` ("closed" when null). Once.
  void Close(const char* error, uint64_t now_ns);
  // h2c: the HTTP/1 request that was upgraded continues as stream 1 (already reported).
  void AdoptUpgraded(H2Exchange&& ex);

  // The stream side's reset grace: when Deadline must next be called (H2StreamTracker::
  // kNoDeadline: none), and the call once that time came.
  uint64_t NextDeadlineNs() const;
  void Deadline(uint64_t now_ns);

  // Nothing more to follow (gave up or closed).
  bool IsDead() const { return is_dead_ || is_closed_; }

 private:
  class Side : public H2FrameHandler {
   public:
    Side(H2Observer* conn, bool is_client, const ObserverLimits& limits);
    void OnFrame(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) override;
    void OnDataStart(uint8_t flags, uint32_t stream, size_t data_bytes) override;
    void OnData(uint32_t stream, const uint8_t* p, size_t n) override;
    void OnDataEnd(uint8_t flags, uint32_t stream) override;
    void OnFrameError(const char* detail) override;

    H2FrameReader reader;
    HpackDecoder decoder;

   private:
    void OnHeaderBlockStart(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n);
    bool AppendBlock(const uint8_t* p, size_t n);
    void FinishBlock(const uint8_t* p, size_t n);
    void OnSettings(uint8_t flags, uint32_t stream, const uint8_t* p, size_t n);

    H2Observer* const conn_;
    const bool is_client_;
    bool is_first_frame_ = true;
    // Stream of a header block awaiting CONTINUATION (0: none), its frame type and END_STREAM.
    uint32_t block_stream_ = 0;
    uint8_t block_type_ = 0;
    bool is_block_end_stream_ = false;
    std::string block_;
    const size_t max_block_bytes_;
  };

  Side& OtherSide(const Side* side) { return side == &client_ ? server_ : client_; }
  void GiveUp(GiveUpReason reason, const char* detail) noexcept;

  H2ExchangeSink* const sink_;
  H2StreamTracker streams_;
  Side client_;
  Side server_;
  size_t preface_fill_ = 0;
  uint64_t now_ns_ = 0;
  bool is_dead_ = false;
  bool is_closed_ = false;
};

}  // namespace meshtap
