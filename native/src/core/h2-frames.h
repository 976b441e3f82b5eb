// SPDX-License-Identifier: Apache-2.0
// Incremental HTTP/2 frame reader (RFC 9113 §4) for one direction of a connection: the C++ twin of
// proxy/h2/frame-reader.ts, state for state, so that both engines see the same frames and stop on
// the same bytes. It is fed views of forwarded bytes in any chunking. Control and header frames are
// handed over whole (a view into the chunk when the frame lies in one chunk, else copied into a
// reusable buffer bounded by SETTINGS_MAX_FRAME_SIZE); DATA payloads stream through as views with
// padding removed, so body bytes are never copied here. Frames of unknown types are counted, not
// buffered (they are ignored anyway: only their header matters). What frames mean is the
// observer's business (h2-observer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace meshtap {

// RFC 9113 wire constants (proxy/h2/constants.ts), named so no protocol magic appears bare.
namespace h2 {
constexpr size_t kFrameHeaderBytes = 9;
constexpr uint8_t kFrameData = 0x0;
constexpr uint8_t kFrameHeaders = 0x1;
constexpr uint8_t kFramePriority = 0x2;
constexpr uint8_t kFrameRstStream = 0x3;
constexpr uint8_t kFrameSettings = 0x4;
constexpr uint8_t kFramePushPromise = 0x5;
constexpr uint8_t kFramePing = 0x6;
constexpr uint8_t kFrameGoaway = 0x7;
constexpr uint8_t kFrameWindowUpdate = 0x8;
constexpr uint8_t kFrameContinuation = 0x9;
constexpr uint8_t kFlagEndStream = 0x1;
constexpr uint8_t kFlagAck = 0x1;
constexpr uint8_t kFlagEndHeaders = 0x4;
constexpr uint8_t kFlagPadded = 0x8;
constexpr uint8_t kFlagPriority = 0x20;
constexpr uint16_t kSettingsHeaderTableSize = 0x1;
constexpr uint16_t kSettingsMaxFrameSize = 0x5;
constexpr size_t kSettingsEntryBytes = 6;
constexpr uint32_t kDefaultMaxFrameSize = 16384;
constexpr uint32_t kMaxAllowedFrameSize = 16777215;
constexpr uint32_t kDefaultHeaderTableSize = 4096;
constexpr size_t kPriorityPayloadBytes = 5;
constexpr size_t kRstStreamPayloadBytes = 4;
constexpr size_t kPingPayloadBytes = 8;
constexpr size_t kWindowUpdatePayloadBytes = 4;
constexpr size_t kGoawayMinPayloadBytes = 8;
// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (tap-protocol H2_PREFACE).
constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kPrefaceBytes = sizeof(kPreface) - 1;
}  // namespace h2

// What the reader reports; views are valid only during the call. A handler may call Stop().
class H2FrameHandler {
 public:
  virtual ~H2FrameHandler() = default;
  // A complete frame other than DATA; its payload is p[0, n) (p is null for frames of unknown
  // type, whose payload is not kept: they are ignored).
  virtual void OnFrame(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) = 0;
  // A DATA frame begins; data_bytes excludes the pad-length byte and padding.
  virtual void OnDataStart(uint8_t flags, uint32_t stream, size_t data_bytes) = 0;
  // Part of the current DATA frame's data (never padding, never empty).
  virtual void OnData(uint32_t stream, const uint8_t* p, size_t n) = 0;
  // The current DATA frame is complete (END_STREAM is in flags).
  virtual void OnDataEnd(uint8_t flags, uint32_t stream) = 0;
  // The byte stream is not valid framing; the reader has stopped.
  virtual void OnFrameError(const char* detail) = 0;
};

class H2FrameReader {
 public:
  explicit H2FrameReader(H2FrameHandler* handler) : handler_(handler) {}
  H2FrameReader(const H2FrameReader&) = delete;
  H2FrameReader& operator=(const H2FrameReader&) = delete;

  void Push(const uint8_t* chunk, size_t len);
  // Stops reading for good (the observer gave up).
  void Stop() { state_ = kStopped; }
  bool IsStopped() const { return state_ == kStopped; }
  // True between frames (nothing partial buffered).
  bool IsAtFrameBoundary() const { return state_ == kHeader && header_fill_ == 0; }

  // Largest payload accepted: the receiving side's SETTINGS_MAX_FRAME_SIZE (grow-only, see the
  // observer).
  uint32_t max_frame_size = h2::kDefaultMaxFrameSize;

 private:
  enum State { kHeader, kPayload, kSkipPayload, kDataPadLength, kData, kDataPadding, kStopped };
  void StartFrame(const uint8_t* h);
  void BeginData(size_t data_bytes);
  void AfterData();
  void FinishData();
  void Fail(const char* detail);

  H2FrameHandler* const handler_;
  State state_ = kHeader;
  uint8_t header_[h2::kFrameHeaderBytes] = {};
  size_t header_fill_ = 0;
  size_t length_ = 0;
  uint8_t type_ = 0;
  uint8_t flags_ = 0;
  uint32_t stream_ = 0;
  // Buffered payload of a frame split across chunks (grows to the largest such frame seen).
  std::string payload_;
  size_t payload_fill_ = 0;
  // DATA: data bytes and padding bytes still to come; unknown frames: payload bytes to skip.
  size_t data_left_ = 0;
  size_t pad_left_ = 0;
};

}  // namespace meshtap
