// SPDX-License-Identifier: Apache-2.0
#include "metrics-labels.h"

namespace meshtap {
namespace {

constexpr size_t kMinHexIdChars = 8;
constexpr size_t kMinTokenChars = 24;
constexpr std::string_view kIdSegment = "{id}";

bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHexLetter(unsigned char c) { return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether target[start, end) is a variable segment (route-template.ts `isVariable`).
bool IsVariable(std::string_view t, size_t start, size_t end) {
  const size_t n = end - start;
  if (n == 0) return false;
  size_t digits = 0, hex_letters = 0, letters = 0, dashes = 0, dots = 0, other = 0;
  for (size_t i = start; i < end; i++) {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    if (IsDigit(c)) {
      digits++;
    } else if (IsHexLetter(c)) {
      hex_letters++;
      letters++;
    } else if (IsLetter(c)) {
      letters++;
    } else if (c == '-') {
      dashes++;
    } else if (c == '.') {
      dots++;
    } else if (c != '_' && c != '+' && c != '=' && c != '%' && c != '~') {
      other++;
    }
  }
  if (other > 0) return false;
  if (digits == n) return true;
  if (n == 36 && dashes == 4 && digits + hex_letters == 32) {  // 8-4-4-4-12
    return t[start + 8] == '-' && t[start + 13] == '-' && t[start + 18] == '-' && t[start + 23] == '-';
  }
  if (n >= kMinHexIdChars && digits > 0 && digits + hex_letters == n) return true;
  if (n < kMinTokenChars || digits == 0 || letters == 0) return false;
  // A JWT (`eyJ` is base64url for `{"`): header.payload.signature (route-template.ts).
  return dots == 0 || (dots == 2 && t.substr(start, 3) == "eyJ");
}

}  // namespace

std::string RouteTemplate(std::string_view target, bool is_grpc) {
  size_t start = 0;
  size_t end = target.size();
  if (target.empty() || target[0] != '/') {
    if (target == "*") return "*";
    const size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return std::string(kOtherRoute);  // authority-form (CONNECT) or garbage
    start = target.find('/', scheme + 3);
    if (start == std::string_view::npos) return "/";
  }
  for (size_t i = start; i < end; i++) {
    if (target[i] == '?' || target[i] == '#') {
      end = i;
      break;
    }
  }
  if (is_grpc) {
    if (Utf16Length(target.substr(start, end - start)) > kMaxRouteChars) return std::string(kOtherRoute);
    return std::string(target.substr(start, end - start));
  }
  std::string out;
  size_t copied_to = start;  // target[start, copied_to) is already in `out`
  size_t seg = start + 1;
  for (size_t i = start + 1; i <= end; i++) {
    if (i < end && target[i] != '/') continue;
    if (IsVariable(target, seg, i)) {
      out.append(target.substr(copied_to, seg - copied_to));
      out.append(kIdSegment);
      copied_to = i;
    }
    seg = i + 1;
  }
  out.append(target.substr(copied_to, end - copied_to));
  if (out.empty()) return "/";
  if (out.size() > kMaxRouteChars && Utf16Length(out) > kMaxRouteChars) return std::string(kOtherRoute);
  return out;
}

size_t Utf16Length(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) n++;  // a lead or ASCII byte starts a code point
    if (c >= 0xF0) n++;           // outside the BMP: a surrogate pair
  }
  return n;
}

std::string RedactAuthority(std::string_view authority) {
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(authority);
  std::string out(kRedacted);
  out.append(authority.substr(at));
  return out;
}

std::string_view HostOf(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return address;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

}  // namespace meshtap
