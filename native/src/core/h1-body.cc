// SPDX-License-Identifier: Apache-2.0
#include "h1-body.h"

namespace meshtap {
namespace {

constexpr uint8_t kCr = 0x0d;
constexpr uint8_t kLf = 0x0a;
constexpr uint8_t kHtab = 0x09;
constexpr uint64_t kMaxChunkSize = 9007199254740991ull;  // Number.MAX_SAFE_INTEGER, as the js reader

int HexValue(uint8_t c) {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const uint8_t l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

}  // namespace

void BodyReader::Start(const Framing& framing, uint64_t capture_bytes) {
  bytes = 0;
  capture_left_ = capture_bytes;
  trailers.clear();
  error = GiveUpReason::kH1Parse;
  size_digits_ = 0;
  remaining_ = 0;
  switch (framing.kind) {
    case Framing::kNone:
      state_ = kDone;
      break;
    case Framing::kLength:
      remaining_ = framing.length;
      state_ = framing.length > 0 ? kLength : kDone;
      break;
    case Framing::kChunked:
      state_ = kSize;
      break;
    case Framing::kClose:
      state_ = kClose;
      break;
  }
}

void BodyReader::Skip(uint64_t n) {
  bytes += n;
  if (state_ != kLength && state_ != kData) return;
  remaining_ -= n < remaining_ ? n : remaining_;
  if (remaining_ == 0) state_ = state_ == kLength ? kDone : kDataCr;
}

int64_t BodyReader::Feed(const uint8_t* chunk, size_t len, size_t offset, OnData on_data, void* ctx) {
  size_t pos = offset;
  while (pos < len) {
    switch (state_) {
      case kDone:
        return static_cast<int64_t>(pos);
      case kClose:
        bytes += len - pos;
        if (capture_left_ > 0) Capture(chunk + pos, len - pos, on_data, ctx);
        return kBodyNeedMore;
      case kLength:
      case kData: {
        const uint64_t avail = len - pos;
        const size_t take = static_cast<size_t>(remaining_ < avail ? remaining_ : avail);
        bytes += take;
        if (capture_left_ > 0 && take > 0) Capture(chunk + pos, take, on_data, ctx);
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = state_ == kLength ? kDone : kDataCr;
        break;
      }
      case kSize: {
        const uint8_t c = chunk[pos];
        const int h = HexValue(c);
        if (h >= 0) {
          if (remaining_ > (kMaxChunkSize - static_cast<uint64_t>(h)) / 16) return Fail(GiveUpReason::kH1Parse);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
          size_digits_++;
        } else if (size_digits_ == 0) {
          return Fail(GiveUpReason::kH1Parse);
        } else if (c == kCr) {
          state_ = kSizeLf;
        } else if (c == 0x3b || c == 0x20 || c == kHtab) {
          ext_bytes_ = 0;
          state_ = kExt;
        } else if (c == kLf) {
          return Fail(GiveUpReason::kH1AmbiguousFraming);
        } else {
          return Fail(GiveUpReason::kH1Parse);
        }
        pos++;
        break;
      }
      case kExt: {
        // chunk-ext (RFC 9112 §7.1.1): skipped; controls refused so a bare LF cannot hide here.
        const uint8_t c = chunk[pos];
        if (c == kCr) state_ = kSizeLf;
        else if (c == kLf) return Fail(GiveUpReason::kH1AmbiguousFraming);
        else if ((c < 0x20 && c != kHtab) || c == 0x7f) return Fail(GiveUpReason::kH1Parse);
        else if (++ext_bytes_ > max_header_bytes_) return Fail(GiveUpReason::kH1HeaderTooLarge);
        pos++;
        break;
      }
      case kSizeLf:
        if (chunk[pos] != kLf) return Fail(GiveUpReason::kH1Parse);
        pos++;
        size_digits_ = 0;
        if (remaining_ == 0) {
          trailer_reader_.Reset();
          state_ = kTrailers;
        } else {
          state_ = kData;
        }
        break;
      case kDataCr:
        if (chunk[pos] != kCr) return Fail(GiveUpReason::kH1Parse);
        pos++;
        state_ = kDataLf;
        break;
      case kDataLf:
        if (chunk[pos] != kLf) return Fail(GiveUpReason::kH1Parse);
        pos++;
        state_ = kSize;
        break;
      case kTrailers: {
        const int64_t next = trailer_reader_.Feed(chunk, len, pos);
        if (next == kHeadNeedMore) return kBodyNeedMore;
        if (next == kHeadBareLf) return Fail(GiveUpReason::kH1AmbiguousFraming);
        if (next == kHeadTooLarge) return Fail(GiveUpReason::kH1HeaderTooLarge);
        std::string head;
        head.swap(trailer_reader_.head);
        trailer_reader_.Reset();
        if (head.size() > 2) {
          GiveUpReason e = GiveUpReason::kH1Parse;
          if (!ParseFieldSection(head, &e)) return Fail(e);
          trailers.swap(head);
        }
        state_ = kDone;
        return next;
      }
    }
  }
  return state_ == kDone ? static_cast<int64_t>(pos) : kBodyNeedMore;
}

}  // namespace meshtap
