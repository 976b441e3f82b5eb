// SPDX-License-Identifier: Apache-2.0
#include "h1-text.h"

#include <cstdint>

namespace meshtap {
namespace {

// Length of the valid UTF-8 sequence at i (1 for ASCII), 0 when the byte there starts none (RFC 3629).
size_t Utf8SequenceLength(const std::string& b, size_t i) {
  const uint8_t c = static_cast<uint8_t>(b[i]);
  if (c < 0x80) return 1;
  const size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || i + n > b.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((static_cast<uint8_t>(b[i + k]) & 0xc0) != 0x80) return 0;
  }
  const uint8_t c1 = static_cast<uint8_t>(b[i + 1]);
  if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) return 0;
  return n;
}

bool IsAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string DecodeFieldText(const std::string& octets, EscapeStyle style) {
  // Valid UTF-8 (ASCII included) is kept as is; only bytes starting no valid sequence are escaped.
  std::string out;
  size_t run = 0;
  bool copied = false;
  for (size_t i = 0; i < octets.size();) {
    const size_t n = Utf8SequenceLength(octets, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (!copied) out.reserve(octets.size() + 8);
    copied = true;
    out.append(octets, run, i - run);
    static const char kHex[] = "0123456789ABCDEF";
    const uint8_t b = static_cast<uint8_t>(octets[i]);
    if (style == EscapeStyle::kPercent) out.push_back('%');
    else out.append("\\x");
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
    i++;
    run = i;
  }
  if (!copied) return octets;
  out.append(octets, run, std::string::npos);
  return out;
}

void ResolveRequestTarget(const std::string& method, const std::string& target, const std::string& host, std::string* scheme,
                          std::string* authority) {
  if (method == "CONNECT") {
    *scheme = "http";
    *authority = target;
    return;
  }
  if (!target.empty() && target[0] != '/' && target != "*") {
    // ^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)
    size_t i = 0;
    if (IsAlpha(target[0])) {
      i = 1;
      while (i < target.size() && (IsAlpha(target[i]) || IsDigit(target[i]) || target[i] == '+' || target[i] == '.' || target[i] == '-')) i++;
      if (target.compare(i, 3, "://") == 0) {
        std::string s = target.substr(0, i);
        for (char& c : s) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
        }
        const size_t from = i + 3;
        size_t to = from;
        while (to < target.size() && target[to] != '/' && target[to] != '?' && target[to] != '#') to++;
        std::string auth = target.substr(from, to - from);
        const size_t at = auth.rfind('@');  // drop userinfo: it is a credential, not an authority
        *scheme = s;
        *authority = at == std::string::npos ? auth : auth.substr(at + 1);
        return;
      }
    }
  }
  *scheme = "http";
  *authority = host;
}

}  // namespace meshtap
