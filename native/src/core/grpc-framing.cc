// SPDX-License-Identifier: Apache-2.0
#include "grpc-framing.h"

#include <algorithm>
#include <string_view>

#include "grpc-status.h"

namespace meshtap {

void GrpcMessageCounter::Feed(const uint8_t* data, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    if (prefix_fill_ < kGrpcFrameHeaderBytes) {
      const uint8_t b = data[pos++];
      if (prefix_fill_ == 0) {
        if (b == 1) is_compressed_ = true;
        body_length_ = 0;
      } else {
        body_length_ = (body_length_ << 8) | b;
      }
      if (++prefix_fill_ == kGrpcFrameHeaderBytes) {
        body_left_ = body_length_;
        if (body_left_ == 0) {
          messages_++;
          prefix_fill_ = 0;
        }
      }
      continue;
    }
    const size_t take = std::min<size_t>(body_left_, len - pos);
    pos += take;
    body_left_ -= static_cast<uint32_t>(take);
    if (body_left_ == 0) {
      messages_++;
      prefix_fill_ = 0;
    }
  }
}

namespace {

// Names compared as views: their length first, no strlen per comparison (as `== "content-type"`
// did for every request field).
constexpr std::string_view kContentTypeName = "content-type";
constexpr std::string_view kGrpcStatusName = "grpc-status";
constexpr std::string_view kGrpcMessageName = "grpc-message";

}  // namespace

bool IsGrpcContentType(const H2FieldList& headers) {
  static const std::string kPrefix = "application/grpc";
  for (const H2Field& f : headers) {
    if (f.name == kContentTypeName) return f.value.compare(0, kPrefix.size(), kPrefix) == 0;
  }
  return false;
}

GrpcStatusRead ReadGrpcStatus(const H2FieldList& headers) {
  GrpcStatusRead out;
  for (const H2Field& f : headers) {
    if (f.name == kGrpcStatusName) {
      out.status = ParseGrpcStatus(f.value);
      out.is_malformed = !out.status.has_value();
    } else if (f.name == kGrpcMessageName) {
      out.message = GrpcPercentDecode(f.value);
    }
  }
  return out;
}

namespace {

int HexValue(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

}  // namespace

std::string Utf8Sanitize(const std::string& octets) {
  // The WHATWG UTF-8 decoder (Encoding Standard §9.1.1), which V8 implements for Buffer.
  std::string out;
  out.reserve(octets.size());
  uint32_t cp = 0;
  int needed = 0;
  int seen = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xBF;
  size_t i = 0;
  while (i < octets.size()) {
    const uint8_t b = static_cast<uint8_t>(octets[i]);
    if (needed == 0) {
      i++;
      if (b < 0x80) {
        out.push_back(static_cast<char>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2;
        cp = b & 0xF;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3;
        cp = b & 0x7;
      } else {
        AppendUtf8(out, kReplacement);
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The byte is not consumed: it starts the next sequence.
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      AppendUtf8(out, kReplacement);
      continue;
    }
    i++;
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen == needed) {
      AppendUtf8(out, cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) AppendUtf8(out, kReplacement);
  return out;
}

std::string JsLatin1Octets(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  const size_t n = utf8.size();
  for (size_t i = 0; i < n;) {
    const uint8_t c = static_cast<uint8_t>(utf8[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) ok = (static_cast<uint8_t>(utf8[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      out.push_back(static_cast<char>(c));  // not UTF-8 (raw octets): kept as they are
      i++;
      continue;
    }
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; k++) cp = (cp << 6) | (static_cast<uint8_t>(utf8[i + k]) & 0x3F);
    i += len;
    if (cp < 0x10000) {
      out.push_back(static_cast<char>(cp & 0xFF));
    } else {
      // A surrogate pair in JS: two code units, each cut to its low byte.
      const uint32_t v = cp - 0x10000;
      out.push_back(static_cast<char>((0xD800 + (v >> 10)) & 0xFF));
      out.push_back(static_cast<char>((0xDC00 + (v & 0x3FF)) & 0xFF));
    }
  }
  return out;
}

std::string GrpcPercentDecode(const std::string& value) {
  const std::string octets = JsLatin1Octets(value);
  // The string is searched, not the octets: U+0125 becomes a 0x25 octet but is no escape.
  if (value.find('%') == std::string::npos) return Utf8Sanitize(octets);
  std::string bytes;
  bytes.reserve(octets.size());
  const std::string& v = octets;
  const size_t n = v.size();
  for (size_t i = 0; i < n; i++) {
    const uint8_t b = static_cast<uint8_t>(v[i]);
    if (b == 0x25 && i + 2 < n) {
      const int hi = HexValue(static_cast<uint8_t>(v[i + 1]));
      const int lo = HexValue(static_cast<uint8_t>(v[i + 2]));
      if (hi >= 0 && lo >= 0) {
        bytes.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    bytes.push_back(static_cast<char>(b));
  }
  return Utf8Sanitize(bytes);
}

}  // namespace meshtap
