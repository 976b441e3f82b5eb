// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for gRPC framing and status text (core/grpc-framing.cc, core/grpc-status.cc).
// Any input must: never crash; count the same messages and compressed flag however the bytes
// are split (whole, one byte at a time, and at the cut points the input chooses) — the counter
// keeps its state across DATA frames and reads; count no more messages than 5-byte prefixes fit;
// percent-decode to valid UTF-8 no longer than 3 bytes per input byte; leave valid UTF-8 without
// '%' as it is (ASCII: no change at all); and parse grpc-status / grpc-timeout only from what their grammars allow.
// Input: byte 0 = number of cut points k (mod 8), then k bytes of cut positions (scaled to the
// rest), then the bytes (framing stream, and the same bytes as a grpc-message / field value).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/grpc-framing.h"
#include "core/grpc-status.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

bool IsValidUtf8(const std::string& s) {
  // Strict RFC 3629 (no surrogates, no overlongs, ≤ U+10FFFF): Utf8Sanitize's output must be this.
  return Utf8Sanitize(s) == s;
}

bool IsValidUtf8Strict(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    const uint8_t c1 = static_cast<uint8_t>(s[i + 1 < s.size() ? i + 1 : i]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return false;
    i += n;
  }
  return true;
}

GrpcMessageCounter CountSplit(const uint8_t* data, size_t len, const std::vector<size_t>& cuts) {
  GrpcMessageCounter c;
  size_t from = 0;
  for (size_t cut : cuts) {
    if (cut < from || cut > len) continue;
    c.Feed(data + from, cut - from);
    from = cut;
  }
  c.Feed(data + from, len - from);
  return c;
}

}  // namespace
}  // namespace meshtap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshtap;
  if (size == 0) return 0;
  size_t k = data[0] % 8;
  if (size < 1 + k) return 0;
  const uint8_t* body = data + 1 + k;
  const size_t len = size - 1 - k;
  std::vector<size_t> cuts;
  for (size_t i = 0; i < k; i++) cuts.push_back(len == 0 ? 0 : (static_cast<size_t>(data[1 + i]) * len) / 255);
  std::sort(cuts.begin(), cuts.end());

  GrpcMessageCounter whole;
  whole.Feed(body, len);
  GrpcMessageCounter split = CountSplit(body, len, cuts);
  GrpcMessageCounter bytewise;
  for (size_t i = 0; i < len; i++) bytewise.Feed(body + i, 1);
  bytewise.Feed(body, 0);
  Check(whole.messages() == split.messages() && whole.messages() == bytewise.messages());
  Check(whole.is_compressed() == split.is_compressed() && whole.is_compressed() == bytewise.is_compressed());
  Check(whole.messages() <= len / kGrpcFrameHeaderBytes);

  const std::string text(reinterpret_cast<const char*>(body), len);
  const std::string decoded = GrpcPercentDecode(text);
  Check(IsValidUtf8Strict(decoded));
  Check(IsValidUtf8(decoded));
  Check(decoded.size() <= 3 * len);
  const std::string sanitized = Utf8Sanitize(text);
  Check(Utf8Sanitize(sanitized) == sanitized);
  if (IsValidUtf8Strict(text)) {
    Check(sanitized == text);
    const bool is_ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; });
    if (is_ascii && text.find('%') == std::string::npos) Check(decoded == text);
  }
  Check(JsLatin1Octets(text).size() <= 2 * len);

  std::optional<int64_t> status = ParseGrpcStatus(text);
  if (status) Check(len >= 1 && len <= 10 && *status >= 0 && *status <= 9999999999LL);
  std::optional<double> timeout = ParseGrpcTimeoutMs(text);
  if (timeout) Check(len >= 2 && len <= 9 && *timeout >= 0 && *timeout <= 99999999.0 * 3600000.0);
  return 0;
}
