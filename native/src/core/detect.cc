// SPDX-License-Identifier: Apache-2.0
#include "detect.h"

#include <cstring>

namespace meshtap {
namespace {

constexpr uint8_t kSp = 0x20;
constexpr uint8_t kCr = 0x0d;
constexpr uint8_t kLf = 0x0a;
// Longest method token looked at before calling the bytes opaque.
constexpr size_t kMaxMethodChars = 20;

// An HTTP method token character (upper-case letters, '-', '_' in practice).
bool IsMethodChar(uint8_t b) { return (b >= 0x41 && b <= 0x5a) || b == 0x2d || b == 0x5f; }

}  // namespace

Detection DetectProtocol(const uint8_t* head, size_t n) {
  if (n > kDetectMaxBytes) n = kDetectMaxBytes;
  if (n == 0) return Detection::kNeedMore;
  const size_t prefix = n < kH2PrefaceBytes ? n : kH2PrefaceBytes;
  if (memcmp(head, kH2Preface, prefix) == 0) {
    // "PRI" may also be an HTTP/1 method only in theory; wait for the full preface.
    return n >= kH2PrefaceBytes ? Detection::kH2 : Detection::kNeedMore;
  }
  // Leading empty lines (CRLF only: a bare LF or CR is where parsers disagree).
  size_t from = 0;
  while (from < n && head[from] == kCr) {
    if (from + 1 == n) return Detection::kNeedMore;
    if (head[from + 1] != kLf || from >= 2 * kMaxLeadingEmptyLines) return Detection::kOpaque;
    from += 2;
  }
  for (size_t i = from; i < n; i++) {
    const uint8_t b = head[i];
    if (b == kSp) return i > from ? Detection::kH1 : Detection::kOpaque;
    if (!IsMethodChar(b) || i - from >= kMaxMethodChars) return Detection::kOpaque;
  }
  return Detection::kNeedMore;
}

}  // namespace meshtap
