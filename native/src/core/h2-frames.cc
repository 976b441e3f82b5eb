// SPDX-License-Identifier: Apache-2.0
#include "h2-frames.h"

#include <cstring>

namespace meshtap {
namespace {

// Frame types the observer acts on (RFC 9113 §6); any other type is ignored (§4.1), so its payload
// need not be kept.
bool IsKnownType(uint8_t type) { return type <= h2::kFrameContinuation; }

}  // namespace

void H2FrameReader::Push(const uint8_t* chunk, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    switch (state_) {
      case kHeader: {
        if (header_fill_ == 0 && len - pos >= h2::kFrameHeaderBytes) {
          const uint8_t* h = chunk + pos;
          pos += h2::kFrameHeaderBytes;
          StartFrame(h);
        } else {
          const size_t want = h2::kFrameHeaderBytes - header_fill_;
          const size_t take = want < len - pos ? want : len - pos;
          memcpy(header_ + header_fill_, chunk + pos, take);
          header_fill_ += take;
          pos += take;
          if (header_fill_ < h2::kFrameHeaderBytes) return;
          header_fill_ = 0;
          StartFrame(header_);
        }
        break;
      }
      case kPayload: {
        if (payload_fill_ == 0 && len - pos >= length_) {
          const uint8_t* from = chunk + pos;
          pos += length_;
          state_ = kHeader;
          handler_->OnFrame(type_, flags_, stream_, from, length_);
        } else {
          const size_t want = length_ - payload_fill_;
          const size_t take = want < len - pos ? want : len - pos;
          memcpy(&payload_[payload_fill_], chunk + pos, take);
          payload_fill_ += take;
          pos += take;
          if (payload_fill_ < length_) return;
          state_ = kHeader;
          handler_->OnFrame(type_, flags_, stream_, reinterpret_cast<const uint8_t*>(payload_.data()), length_);
        }
        break;
      }
      case kSkipPayload: {
        const size_t take = data_left_ < len - pos ? data_left_ : len - pos;
        pos += take;
        data_left_ -= take;
        if (data_left_ > 0) return;
        state_ = kHeader;
        handler_->OnFrame(type_, flags_, stream_, nullptr, length_);
        break;
      }
      case kDataPadLength: {
        const size_t pad = chunk[pos++];
        // RFC 9113 §6.1: padding that fills the whole payload (or more) is an error.
        if (pad >= length_) {
          Fail("DATA padding >= payload");
          return;
        }
        pad_left_ = pad;
        BeginData(length_ - 1 - pad);
        break;
      }
      case kData: {
        const size_t take = data_left_ < len - pos ? data_left_ : len - pos;
        const uint8_t* from = chunk + pos;
        pos += take;
        data_left_ -= take;
        handler_->OnData(stream_, from, take);
        if (data_left_ == 0) AfterData();
        break;
      }
      case kDataPadding: {
        const size_t take = pad_left_ < len - pos ? pad_left_ : len - pos;
        pos += take;
        pad_left_ -= take;
        if (pad_left_ == 0) FinishData();
        break;
      }
      case kStopped:
        return;
    }
  }
}

void H2FrameReader::StartFrame(const uint8_t* h) {
  length_ = (static_cast<size_t>(h[0]) << 16) | (static_cast<size_t>(h[1]) << 8) | h[2];
  type_ = h[3];
  flags_ = h[4];
  stream_ = ((static_cast<uint32_t>(h[5]) << 24) | (static_cast<uint32_t>(h[6]) << 16) | (static_cast<uint32_t>(h[7]) << 8) | h[8]) & 0x7fffffffu;
  if (length_ > max_frame_size) {
    Fail("frame over SETTINGS_MAX_FRAME_SIZE");
    return;
  }
  if (type_ == h2::kFrameData) {
    if (flags_ & h2::kFlagPadded) {
      if (length_ == 0) {
        Fail("padded DATA without a pad length");
        return;
      }
      state_ = kDataPadLength;
    } else {
      pad_left_ = 0;
      BeginData(length_);
    }
    return;
  }
  if (length_ == 0) {
    state_ = kHeader;
    handler_->OnFrame(type_, flags_, stream_, IsKnownType(type_) ? header_ : nullptr, 0);
    return;
  }
  if (!IsKnownType(type_)) {
    data_left_ = length_;
    state_ = kSkipPayload;
    return;
  }
  if (payload_.size() < length_) {
    // Doubling (bounded by the frame size limit) as the js reader does: few reallocations.
    size_t grown = payload_.size() * 2;
    if (grown > max_frame_size) grown = max_frame_size;
    payload_.resize(grown > length_ ? grown : length_);
  }
  payload_fill_ = 0;
  state_ = kPayload;
}

void H2FrameReader::BeginData(size_t data_bytes) {
  data_left_ = data_bytes;
  state_ = kData;
  handler_->OnDataStart(flags_, stream_, data_bytes);
  if (state_ == kStopped) return;
  if (data_bytes == 0) AfterData();
}

void H2FrameReader::AfterData() {
  if (state_ == kStopped) return;
  if (pad_left_ > 0) state_ = kDataPadding;
  else FinishData();
}

void H2FrameReader::FinishData() {
  state_ = kHeader;
  handler_->OnDataEnd(flags_, stream_);
}

void H2FrameReader::Fail(const char* detail) {
  state_ = kStopped;
  handler_->OnFrameError(detail);
}

}  // namespace meshtap
