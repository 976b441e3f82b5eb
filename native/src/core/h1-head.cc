// SPDX-License-Identifier: Apache-2.0
#include "h1-head.h"

#include <cstring>

#include "h1-text.h"

namespace meshtap {
namespace {

constexpr uint8_t kCr = 0x0d;
constexpr uint8_t kLf = 0x0a;
constexpr uint8_t kSp = 0x20;
constexpr uint8_t kHtab = 0x09;
constexpr uint64_t kMaxSafeInteger = 9007199254740991ull;  // Number.MAX_SAFE_INTEGER

// RFC 9110 §5.6.2 tchar.
struct TcharTable {
  bool t[256] = {};
  TcharTable() {
    for (const char* p = "!#$%&'*+-.^_`|~"; *p != 0; p++) t[static_cast<uint8_t>(*p)] = true;
    for (int c = '0'; c <= '9'; c++) t[c] = true;
    for (int c = 'A'; c <= 'Z'; c++) t[c] = true;
    for (int c = 'a'; c <= 'z'; c++) t[c] = true;
  }
};
const TcharTable kTchar;

uint8_t At(const std::string& s, size_t i) { return static_cast<uint8_t>(s[i]); }

size_t FindCrlf(const std::string& s, size_t from) { return s.find("\r\n", from); }

bool IsToken(const std::string& s, size_t from, size_t to) {
  if (to <= from) return false;
  for (size_t i = from; i < to; i++) {
    if (!kTchar.t[At(s, i)]) return false;
  }
  return true;
}

// Request-target: visible ASCII or obs-text, no whitespace or controls.
bool IsTarget(const std::string& s, size_t from, size_t to) {
  if (to <= from) return false;
  for (size_t i = from; i < to; i++) {
    const uint8_t c = At(s, i);
    if (c <= kSp || c == 0x7f) return false;
  }
  return true;
}

bool IsFieldValueChar(uint8_t c) { return (c >= 0x20 && c != 0x7f) || c == kHtab; }

// Whether s[from, from + len(lower)) is `lower`, ignoring ASCII case.
bool IsName(const std::string& s, size_t from, const char* lower) {
  for (size_t i = 0; lower[i] != 0; i++) {
    uint8_t c = At(s, from + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c != static_cast<uint8_t>(lower[i])) return false;
  }
  return true;
}

std::string DecodeValue(const std::string& s, size_t a, size_t b) { return DecodeFieldText(s.substr(a, b - a), EscapeStyle::kBackslash); }

void NoteFact(HeadFacts* facts, const std::string& text, size_t name, size_t name_len, size_t a, size_t b) {
  switch (name_len) {
    case 4:
      if (!facts->has_host && IsName(text, name, "host")) {
        facts->host = DecodeValue(text, a, b);
        facts->has_host = true;
      }
      break;
    case 7:
      if (IsName(text, name, "upgrade")) {
        facts->has_upgrade = true;
        facts->upgrade.push_back(DecodeValue(text, a, b));
      }
      break;
    case 14:
      if (IsName(text, name, "content-length")) {
        facts->has_content_length = true;
        facts->content_length.push_back(DecodeValue(text, a, b));
      }
      break;
    case 17:
      if (IsName(text, name, "transfer-encoding")) {
        facts->has_transfer_encoding = true;
        facts->transfer_encoding.push_back(DecodeValue(text, a, b));
      }
      break;
  }
}

// Validates field lines from `start` to the empty line ending `text`; notes facts when given.
bool ScanFieldSection(const std::string& text, size_t start, HeadFacts* facts, HeadError* error) {
  const size_t limit = text.size() - 2;
  size_t pos = start;
  while (pos < limit) {
    const size_t end = FindCrlf(text, pos);
    const uint8_t first = At(text, pos);
    if (first == kSp || first == kHtab) {  // obs-fold
      *error = GiveUpReason::kH1AmbiguousFraming;
      return false;
    }
    // The name is a token up to the first colon; no whitespace before it (RFC 9112 §5.1).
    size_t colon = pos;
    while (colon < end && kTchar.t[At(text, colon)]) colon++;
    if (colon == pos || colon == end || At(text, colon) != ':') {
      *error = GiveUpReason::kH1Parse;
      return false;
    }
    size_t a = colon + 1;
    size_t b = end;
    while (a < b && (At(text, a) == kSp || At(text, a) == kHtab)) a++;
    while (b > a && (At(text, b - 1) == kSp || At(text, b - 1) == kHtab)) b--;
    for (size_t j = a; j < b; j++) {
      const uint8_t c = At(text, j);
      if ((c < 0x20 && c != kHtab) || c == 0x7f) {
        *error = GiveUpReason::kH1Parse;
        return false;
      }
    }
    if (facts != nullptr) NoteFact(facts, text, pos, colon - pos, a, b);
    pos = end + 2;
  }
  return true;
}

// `HTTP/1.x` at text[from, end): the minor version, or -1.
int ParseVersion(const std::string& text, size_t from, size_t end) {
  if (end - from != 8 || text.compare(from, 7, "HTTP/1.") != 0) return -1;
  const int d = At(text, from + 7) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// A list element with optional whitespace around it removed (RFC 9110 §5.6.1: OWS is SP/HTAB).
std::string TrimOws(const std::string& s, size_t from, size_t to) {
  while (from < to && IsOws(s[from])) from++;
  while (to > from && IsOws(s[to - 1])) to--;
  return s.substr(from, to - from);
}

// Content-Length (RFC 9110 §8.6): identical decimal values are one; differing ones ambiguous.
bool ParseContentLength(const std::vector<std::string>& values, uint64_t* out, HeadError* error) {
  bool has_found = false;
  uint64_t found = 0;
  bool is_ambiguous = false;
  for (const std::string& field : values) {
    size_t from = 0;
    for (;;) {
      size_t comma = field.find(',', from);
      const size_t to = comma == std::string::npos ? field.size() : comma;
      const std::string v = TrimOws(field, from, to);
      if (v.empty()) {
        *error = GiveUpReason::kH1Parse;
        return false;
      }
      size_t i = 0;
      for (const char c : v) {
        if (c < '0' || c > '9') {
          *error = GiveUpReason::kH1Parse;
          return false;
        }
      }
      while (i + 1 < v.size() && v[i] == '0') i++;
      if (v.size() - i > 16) {
        *error = GiveUpReason::kH1Parse;
        return false;
      }
      uint64_t n = 0;
      for (; i < v.size(); i++) n = n * 10 + static_cast<uint64_t>(v[i] - '0');
      if (n > kMaxSafeInteger) {
        *error = GiveUpReason::kH1Parse;
        return false;
      }
      if (has_found && n != found) is_ambiguous = true;
      found = n;
      has_found = true;
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
  }
  if (is_ambiguous) {
    *error = GiveUpReason::kH1AmbiguousFraming;
    return false;
  }
  *out = found;
  return true;
}

// Transfer codings, ASCII-lower-cased, in order; a parameterised coding keeps only its name.
std::vector<std::string> ListCodings(const std::vector<std::string>& values) {
  std::vector<std::string> codings;
  for (const std::string& field : values) {
    size_t from = 0;
    for (;;) {
      const size_t comma = field.find(',', from);
      const size_t to = comma == std::string::npos ? field.size() : comma;
      const size_t semi = field.find(';', from);
      std::string name = TrimOws(field, from, semi != std::string::npos && semi < to ? semi : to);
      for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
      }
      if (!name.empty()) codings.push_back(std::move(name));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
  }
  return codings;
}

// chunked applied exactly once... and last: the first `chunked` is the last coding.
bool IsChunkedLast(const std::vector<std::string>& codings) {
  for (size_t i = 0; i < codings.size(); i++) {
    if (codings[i] == "chunked") return i == codings.size() - 1;
  }
  return false;
}

bool LengthFraming(const HeadFacts& facts, Framing* out, HeadError* error) {
  uint64_t n = 0;
  if (!ParseContentLength(facts.content_length, &n, error)) return false;
  out->kind = n == 0 ? Framing::kNone : Framing::kLength;
  out->length = n;
  return true;
}

}  // namespace

void HeadReader::Reset() {
  head.clear();
  held_.clear();
  line_start_ = 0;
  prev_byte_ = -1;
}

int64_t HeadReader::Feed(const uint8_t* chunk, size_t len, size_t offset) {
  size_t start = offset;  // where this chunk's part of the head begins
  size_t pos = offset;
  for (;;) {
    const void* hit = pos < len ? memchr(chunk + pos, kLf, len - pos) : nullptr;
    if (hit == nullptr) break;
    const size_t lf = static_cast<const uint8_t*>(hit) - chunk;
    const size_t at = held_.size() + (lf - start);  // head offset of this LF
    // The bound first, so that the reason does not depend on where the bytes were split.
    if (at + 1 > max_bytes_) return kHeadTooLarge;
    const int prev = lf > start ? chunk[lf - 1] : prev_byte_;
    if (prev != kCr) return kHeadBareLf;
    if (at - line_start_ == 1) {
      // An empty line.
      if (line_start_ == 0 && !is_trailer_) {
        // Leading empty line before a start line: skip it, nothing is held.
        Reset();
        start = lf + 1;
        pos = start;
        continue;
      }
      head.assign(held_);
      head.append(reinterpret_cast<const char*>(chunk + start), lf + 1 - start);
      held_.clear();
      line_start_ = 0;
      prev_byte_ = -1;
      return static_cast<int64_t>(lf + 1);
    }
    line_start_ = at + 1;
    pos = lf + 1;
  }
  const size_t rest = len - start;
  if (rest > 0) {
    if (held_.size() + rest > max_bytes_) return kHeadTooLarge;
    held_.append(reinterpret_cast<const char*>(chunk + start), rest);
    prev_byte_ = chunk[len - 1];
  }
  return kHeadNeedMore;
}

bool ParseRequestHead(const std::string& text, RequestHead* out, HeadError* error) {
  *error = GiveUpReason::kH1Parse;
  const size_t line_end = FindCrlf(text, 0);
  const size_t sp1 = text.find(' ');
  const size_t sp2 = sp1 == std::string::npos || sp1 > line_end ? std::string::npos : text.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp1 == 0 || sp2 == std::string::npos || sp2 > line_end || !IsToken(text, 0, sp1)) return false;
  const int minor = ParseVersion(text, sp2 + 1, line_end);
  if (minor < 0 || !IsTarget(text, sp1 + 1, sp2)) return false;
  if (!ScanFieldSection(text, line_end + 2, &out->facts, error)) return false;
  out->method = text.substr(0, sp1);
  out->target = DecodeFieldText(text.substr(sp1 + 1, sp2 - sp1 - 1), EscapeStyle::kPercent);
  out->minor = minor;
  return true;
}

bool ParseResponseHead(const std::string& text, ResponseHead* out, HeadError* error) {
  *error = GiveUpReason::kH1Parse;
  const size_t line_end = FindCrlf(text, 0);
  const int minor = line_end >= 12 ? ParseVersion(text, 0, 8) : -1;
  if (minor < 0 || At(text, 8) != kSp) return false;
  int status = 0;
  for (size_t i = 9; i < 12; i++) {
    const int d = At(text, i) - 0x30;
    if (d < 0 || d > 9) return false;
    status = status * 10 + d;
  }
  // A missing reason phrase (no SP at all) is common in the wild and harmless; accept it.
  if (line_end > 12 && At(text, 12) != kSp) return false;
  for (size_t i = 13; i < line_end; i++) {
    if (!IsFieldValueChar(At(text, i))) return false;
  }
  if (status < 100) return false;
  if (!ScanFieldSection(text, line_end + 2, &out->facts, error)) return false;
  out->status = status;
  out->minor = minor;
  return true;
}

bool ParseFieldSection(const std::string& text, HeadError* error) { return ScanFieldSection(text, 0, nullptr, error); }

// Transfer-Encoding with Content-Length, or in an HTTP/1.0 message, is faulty (RFC 9112 §6.1).
static bool IsFaultyTransferEncoding(const HeadFacts& facts, int minor) { return facts.has_content_length || minor == 0; }

bool RequestFraming(const HeadFacts& facts, int minor, Framing* out, HeadError* error) {
  if (facts.has_transfer_encoding) {
    if (IsFaultyTransferEncoding(facts, minor) || !IsChunkedLast(ListCodings(facts.transfer_encoding))) {
      *error = GiveUpReason::kH1AmbiguousFraming;
      return false;
    }
    out->kind = Framing::kChunked;
    return true;
  }
  if (facts.has_content_length) return LengthFraming(facts, out, error);
  out->kind = Framing::kNone;
  return true;
}

bool ResponseFraming(const HeadFacts& facts, int minor, Framing* out, HeadError* error) {
  if (facts.has_transfer_encoding) {
    if (IsFaultyTransferEncoding(facts, minor)) {
      *error = GiveUpReason::kH1AmbiguousFraming;
      return false;
    }
    const std::vector<std::string> codings = ListCodings(facts.transfer_encoding);
    int chunked = 0;
    for (const std::string& c : codings) chunked += c == "chunked" ? 1 : 0;
    if (chunked > 1) {
      *error = GiveUpReason::kH1AmbiguousFraming;
      return false;
    }
    out->kind = IsChunkedLast(codings) ? Framing::kChunked : Framing::kClose;
    return true;
  }
  if (facts.has_content_length) return LengthFraming(facts, out, error);
  out->kind = Framing::kClose;
  return true;
}

bool UpgradesToH2c(const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    size_t from = 0;
    for (;;) {
      const size_t comma = v.find(',', from);
      std::string t = TrimOws(v, from, comma == std::string::npos ? v.size() : comma);
      for (char& c : t) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
      }
      if (t == "h2c") return true;
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
  }
  return false;
}

}  // namespace meshtap
