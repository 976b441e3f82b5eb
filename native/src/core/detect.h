// SPDX-License-Identifier: Apache-2.0
// Protocol detection on the first client bytes, without holding them back: the C++ twin of
// proxy/detect.ts (same rules, same bounds). Bytes are forwarded as they arrive; detection only
// decides which observer (if any) reads them. Anything unclear is opaque.
#pragma once

#include <cstddef>
#include <cstdint>

namespace meshtap {

enum class Detection : uint8_t { kNeedMore = 0, kH1 = 1, kH2 = 2, kOpaque = 3 };

// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4).
constexpr const char kH2Preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kH2PrefaceBytes = sizeof kH2Preface - 1;
// Empty lines (CRLF) a request line may follow (RFC 9112 §2.2).
constexpr size_t kMaxLeadingEmptyLines = 8;
// Enough bytes to decide: the preface, or leading empty lines then a method token plus a space.
constexpr size_t kDetectMaxBytes = kH2PrefaceBytes + 2 * kMaxLeadingEmptyLines;

// Classifies the first bytes a client sent (at most kDetectMaxBytes of them are looked at).
Detection DetectProtocol(const uint8_t* head, size_t n);

}  // namespace meshtap
