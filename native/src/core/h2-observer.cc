// SPDX-License-Identifier: Apache-2.0
#include "h2-observer.h"

#include <cstring>

#include "h1-text.h"

namespace meshtap {
namespace {

// A compressed header block can decode to little (Huffman codes up to 30 bits per octet); this
// bounds the bytes buffered across CONTINUATION frames relative to the decoded limit
// (observer-side.ts BLOCK_BYTES_PER_HEADER_BYTE, BLOCK_BYTES_SLACK).
constexpr size_t kBlockBytesPerHeaderByte = 4;
constexpr size_t kBlockBytesSlack = 4096;
// Capacity of the CONTINUATION assembly buffer kept between blocks.
constexpr size_t kBlockKeepBytes = 16 * 1024;
// PUSH_PROMISE: the promised stream id before the block.
constexpr size_t kPromisedStreamBytes = 4;
// The error streams get when the connection closes without a reason (observer.ts
// STREAM_ERROR_CLOSED).
constexpr const char* kStreamErrorClosed = "closed";

// Whether any octet of `s` is >= 0x80, eight at a time (every value of every block is scanned;
// byte by byte it was ~4 % of the observer's samples under h2load, session 8).
bool HasNonAscii(const std::string& s) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t any = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    any |= w;
  }
  for (; n > 0; p++, n--) any |= static_cast<uint8_t>(*p);
  return (any & kHighBits) != 0;
}

uint32_t ReadU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

}  // namespace

// ---- the connection (observer.ts) ------------------------------------------------------------

H2Observer::H2Observer(H2ExchangeSink* sink, const ObserverLimits& limits)
    : sink_(sink), streams_(sink, limits), client_(this, true, limits), server_(this, false, limits) {}

H2Observer::~H2Observer() = default;

void H2Observer::ClientData(const uint8_t* p, size_t n, uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    if (preface_fill_ < h2::kPrefaceBytes) {
      const size_t want = h2::kPrefaceBytes - preface_fill_;
      const size_t take = want < n ? want : n;
      if (memcmp(p, h2::kPreface + preface_fill_, take) != 0) return GiveUp(GiveUpReason::kH2Frame, "bad client preface");
      preface_fill_ += take;
      p += take;
      n -= take;
      if (n == 0) return;
    }
    client_.reader.Push(p, n);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

void H2Observer::ServerData(const uint8_t* p, size_t n, uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    server_.reader.Push(p, n);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

void H2Observer::ServerEnd(uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    streams_.ServerEnded(now_ns);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

void H2Observer::Close(const char* error, uint64_t now_ns) {
  if (is_closed_) return;
  is_closed_ = true;
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    streams_.EndAll(error != nullptr ? error : kStreamErrorClosed, now_ns);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

void H2Observer::AdoptUpgraded(H2Exchange&& ex) {
  try {
    streams_.AdoptUpgraded(std::move(ex));
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

uint64_t H2Observer::NextDeadlineNs() const { return is_dead_ || is_closed_ ? H2StreamTracker::kNoDeadline : streams_.NextDeadlineNs(); }

void H2Observer::Deadline(uint64_t now_ns) {
  if (is_dead_ || is_closed_) return;
  now_ns_ = now_ns;
  try {
    streams_.OnDeadline(now_ns);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal, "exception");
  }
}

// Stops following the connection: ends open streams, tells the sink once.
void H2Observer::GiveUp(GiveUpReason reason, const char* detail) noexcept {
  if (is_dead_) return;
  is_dead_ = true;
  client_.reader.Stop();
  server_.reader.Stop();
  try {
    streams_.EndAll(exchange_error::kGaveUp, now_ns_);
  } catch (...) {
    // A sink that throws while we give up changes nothing: we stop either way.
  }
  try {
    sink_->GiveUp(reason);
  } catch (...) {
    // Never let a sink error escape into the data path.
  }
}

// ---- one direction (observer-side.ts) -------------------------------------------------------

H2Observer::Side::Side(H2Observer* conn, bool is_client, const ObserverLimits& limits)
    : reader(this),
      decoder(limits.max_header_bytes, limits.max_hpack_table_bytes),
      conn_(conn),
      is_client_(is_client),
      max_block_bytes_(limits.max_header_bytes * kBlockBytesPerHeaderByte + kBlockBytesSlack) {}

void H2Observer::Side::OnFrame(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) {
  if (is_first_frame_) {
    // RFC 9113 §3.4: each side's first frame is a SETTINGS frame.
    is_first_frame_ = false;
    if (type != h2::kFrameSettings) return conn_->GiveUp(GiveUpReason::kH2Frame, "first frame is not SETTINGS");
  }
  if (block_stream_ != 0 && (type != h2::kFrameContinuation || stream != block_stream_)) {
    return conn_->GiveUp(GiveUpReason::kH2Frame, "header block interrupted before END_HEADERS");
  }
  switch (type) {
    case h2::kFrameHeaders:
    case h2::kFramePushPromise:
      return OnHeaderBlockStart(type, flags, stream, p, n);
    case h2::kFrameContinuation:
      if (block_stream_ == 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "CONTINUATION without a header block");
      if (!AppendBlock(p, n)) return;
      if (flags & h2::kFlagEndHeaders) {
        FinishBlock(reinterpret_cast<const uint8_t*>(block_.data()), block_.size());
        // Reused by the next block, unless a rare large one grew it (bounded either way).
        if (block_.capacity() > kBlockKeepBytes) std::string().swap(block_);
        else block_.clear();
      }
      return;
    case h2::kFrameSettings:
      return OnSettings(flags, stream, p, n);
    case h2::kFrameRstStream:
      if (stream == 0 || n != h2::kRstStreamPayloadBytes) return conn_->GiveUp(GiveUpReason::kH2Frame, "bad RST_STREAM");
      conn_->streams_.Reset(stream, ReadU32(p), is_client_, conn_->now_ns_);
      return;
    case h2::kFrameGoaway:
      if (stream != 0 || n < h2::kGoawayMinPayloadBytes) return conn_->GiveUp(GiveUpReason::kH2Frame, "bad GOAWAY");
      // A client's GOAWAY names server-initiated (push) streams, which are not tracked.
      if (!is_client_) conn_->streams_.Goaway(ReadU32(p) & 0x7fffffffu, conn_->now_ns_);
      return;
    case h2::kFramePing:
      if (stream != 0 || n != h2::kPingPayloadBytes) return conn_->GiveUp(GiveUpReason::kH2Frame, "bad PING");
      return;
    case h2::kFramePriority:
      if (stream == 0 || n != h2::kPriorityPayloadBytes) return conn_->GiveUp(GiveUpReason::kH2Frame, "bad PRIORITY");
      return;
    case h2::kFrameWindowUpdate:
      if (n != h2::kWindowUpdatePayloadBytes) return conn_->GiveUp(GiveUpReason::kH2Frame, "bad WINDOW_UPDATE");
      return;
    default:
      return;  // unknown frame types are ignored (RFC 9113 §4.1)
  }
}

void H2Observer::Side::OnDataStart(uint8_t flags, uint32_t stream, size_t data_bytes) {
  if (is_first_frame_) return conn_->GiveUp(GiveUpReason::kH2Frame, "first frame is not SETTINGS");
  if (block_stream_ != 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "header block interrupted before END_HEADERS");
  if (stream == 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "DATA on stream 0");
}

void H2Observer::Side::OnData(uint32_t stream, const uint8_t* p, size_t n) { conn_->streams_.Data(is_client_, stream, p, n); }

void H2Observer::Side::OnDataEnd(uint8_t flags, uint32_t stream) {
  if (flags & h2::kFlagEndStream) conn_->streams_.DataEndStream(is_client_, stream, conn_->now_ns_);
}

void H2Observer::Side::OnFrameError(const char* detail) { conn_->GiveUp(GiveUpReason::kH2Frame, detail); }

void H2Observer::Side::OnHeaderBlockStart(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) {
  if (stream == 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "header block on stream 0");
  if (type == h2::kFramePushPromise && is_client_) return conn_->GiveUp(GiveUpReason::kH2Frame, "PUSH_PROMISE from the client");
  // Signed, as the js reader's offsets: padding longer than the payload is caught below.
  int64_t from = 0;
  int64_t to = static_cast<int64_t>(n);
  if (flags & h2::kFlagPadded) {
    if (from >= to) return conn_->GiveUp(GiveUpReason::kH2Frame, "padded frame without a pad length");
    to -= p[from++];
  }
  if (type == h2::kFrameHeaders && (flags & h2::kFlagPriority)) from += h2::kPriorityPayloadBytes;
  else if (type == h2::kFramePushPromise) from += kPromisedStreamBytes;
  if (from > to) return conn_->GiveUp(GiveUpReason::kH2Frame, "padding or fields longer than the payload");
  block_type_ = type;
  is_block_end_stream_ = type == h2::kFrameHeaders && (flags & h2::kFlagEndStream) != 0;
  block_stream_ = stream;
  if (flags & h2::kFlagEndHeaders) return FinishBlock(p + from, static_cast<size_t>(to - from));
  block_.clear();
  AppendBlock(p + from, static_cast<size_t>(to - from));
}

bool H2Observer::Side::AppendBlock(const uint8_t* p, size_t n) {
  if (block_.size() + n > max_block_bytes_) {
    conn_->GiveUp(GiveUpReason::kH2HeaderTooLarge, "header block too large");
    return false;
  }
  block_.append(reinterpret_cast<const char*>(p), n);
  return true;
}

// Decodes a complete block; HPACK must see every block to stay in sync.
void H2Observer::Side::FinishBlock(const uint8_t* p, size_t n) {
  const uint32_t stream = block_stream_;
  block_stream_ = 0;
  // Room for a usual block at once, reused from an ended stream when one is at hand.
  H2FieldList headers = H2StreamTracker::TakeFieldList();
  const HpackResult result = decoder.Decode(p, n, &headers);
  if (result != HpackResult::kOk) {
    return conn_->GiveUp(result == HpackResult::kTooLarge ? GiveUpReason::kH2HeaderTooLarge : GiveUpReason::kH2Hpack, "bad header block");
  }
  // HPACK strings are octets; values read by the one rule for HTTP/1 and h2 (h1-text.h, as
  // observer-side.ts does with field-text.ts): names stay octets.
  for (H2Field& field : headers) {
    if (HasNonAscii(field.value)) {
      field.value = DecodeFieldText(field.value, field.name == ":path" ? EscapeStyle::kPercent : EscapeStyle::kBackslash);
    }
  }
  if (block_type_ == h2::kFramePushPromise) return;  // pushed streams are not tracked
  if (is_client_) {
    if (!conn_->streams_.RequestHeaders(stream, std::move(headers), is_block_end_stream_, conn_->now_ns_)) {
      conn_->GiveUp(GiveUpReason::kH2TooManyStreams, "too many open streams");
    }
  } else {
    conn_->streams_.ResponseHeaders(stream, std::move(headers), is_block_end_stream_, conn_->now_ns_);
  }
}

// SETTINGS sent by this side limit what the *other* side may send.
void H2Observer::Side::OnSettings(uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) {
  if (stream != 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "SETTINGS on a stream");
  if (flags & h2::kFlagAck) {
    if (n != 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "SETTINGS ACK with a payload");
    return;
  }
  if (n % h2::kSettingsEntryBytes != 0) return conn_->GiveUp(GiveUpReason::kH2Frame, "SETTINGS length not a multiple of 6");
  Side& peer = conn_->OtherSide(this);
  for (size_t at = 0; at < n; at += h2::kSettingsEntryBytes) {
    const uint16_t id = static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
    const uint32_t value = ReadU32(p + at + 2);
    if (id == h2::kSettingsHeaderTableSize) {
      peer.decoder.SetAllowedTableSize(value);
    } else if (id == h2::kSettingsMaxFrameSize) {
      if (value < h2::kDefaultMaxFrameSize || value > h2::kMaxAllowedFrameSize) {
        return conn_->GiveUp(GiveUpReason::kH2Frame, "SETTINGS_MAX_FRAME_SIZE out of range");
      }
      // The peer may still send larger frames until it has acknowledged a decrease.
      if (value > peer.reader.max_frame_size) peer.reader.max_frame_size = value;
    }
  }
}

}  // namespace meshtap
