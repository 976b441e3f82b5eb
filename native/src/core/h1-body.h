// SPDX-License-Identifier: Apache-2.0
// Incremental de-framing of one HTTP/1 body (Content-Length, chunked with extensions and
// trailers, close-delimited): proxy/http1/body-reader.ts, rule for rule. Body bytes are
// counted; they are handed on (`on_data`) only while a capture was asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "h1-head.h"

namespace meshtap {

constexpr int64_t kBodyNeedMore = -1;
constexpr int64_t kBodyError = -2;

class BodyReader {
 public:
  explicit BodyReader(size_t max_header_bytes) : max_header_bytes_(max_header_bytes), trailer_reader_(max_header_bytes, true) {}
  // Starts a body; the first `capture_bytes` de-framed bytes go to `on_data` (0: none).
  void Start(const Framing& framing, uint64_t capture_bytes);
  bool IsDone() const { return state_ == kDone; }
  bool IsCloseDelimited() const { return state_ == kClose; }
  // The sender closed: a close-delimited body is complete now.
  void FinishOnClose() {
    if (state_ == kClose) state_ = kDone;
  }
  // Consumes chunk[offset, len): the offset after the body when it completed, kBodyNeedMore, or
  // kBodyError (then `error` says why). De-framed data ranges are reported through
  // (*on_data)(ctx, p, n) when capturing.
  // How many of the next bytes are body bytes nobody looks at (not capturing; a known remaining
  // length, or until close): the engine may move them without showing them (Skip), e.g. with
  // splice(2). 0 when the next bytes must be read (framing, or a capture).
  uint64_t Skippable() const {
    if (capture_left_ > 0) return 0;
    if (state_ == kLength || state_ == kData) return remaining_;
    return state_ == kClose ? UINT64_MAX : 0;
  }
  // `n` (<= Skippable()) body bytes went by unseen.
  void Skip(uint64_t n);
  using OnData = void (*)(void* ctx, const uint8_t* p, size_t n);
  int64_t Feed(const uint8_t* chunk, size_t len, size_t offset, OnData on_data, void* ctx);

  uint64_t bytes = 0;
  // The trailer section as sent ("" when there was none), once complete.
  std::string trailers;
  GiveUpReason error = GiveUpReason::kH1Parse;

 private:
  enum State { kDone, kLength, kClose, kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailers };
  int64_t Fail(GiveUpReason e) {
    error = e;
    state_ = kDone;
    return kBodyError;
  }
  const size_t max_header_bytes_;
  HeadReader trailer_reader_;
  State state_ = kDone;
  uint64_t capture_left_ = 0;
  void Capture(const uint8_t* p, size_t n, OnData on_data, void* ctx) {
    const size_t take = n < capture_left_ ? n : static_cast<size_t>(capture_left_);
    capture_left_ -= take;
    if (take > 0) on_data(ctx, p, take);
  }
  uint64_t remaining_ = 0;
  uint64_t size_digits_ = 0;
  uint64_t ext_bytes_ = 0;
};

}  // namespace meshtap
