// SPDX-License-Identifier: Apache-2.0
#include "metrics-secrets.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "h1-text.h"
#include "metrics-labels.h"

namespace meshtap {
namespace {

// redact-values.ts MIN_SECRET_CHARS, MAX_SCRUBBED_SECRETS.
constexpr size_t kMinSecretChars = 8;
constexpr size_t kMaxScrubbedSecrets = 32;

// The length of the JS white space (WhiteSpace or LineTerminator: trim, regex `\s`) at s[i], or 0.
size_t WhiteSpaceAt(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c < 0x80) return 0;
  auto at = [&](size_t k) -> unsigned char { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xc2 && at(1) == 0xa0) return 2;                                    // U+00A0
  if (c == 0xe1 && at(1) == 0x9a && at(2) == 0x80) return 3;                   // U+1680
  if (c == 0xe2 && at(1) == 0x80 && (at(2) <= 0x8a || at(2) == 0xa8 || at(2) == 0xa9 || at(2) == 0xaf) && at(2) >= 0x80) return 3;  // U+2000-200A, 2028, 2029, 202F
  if (c == 0xe2 && at(1) == 0x81 && at(2) == 0x9f) return 3;                   // U+205F
  if (c == 0xe3 && at(1) == 0x80 && at(2) == 0x80) return 3;                   // U+3000
  if (c == 0xef && at(1) == 0xbb && at(2) == 0xbf) return 3;                   // U+FEFF
  return 0;
}

// String.prototype.trim.
std::string_view JsTrim(std::string_view s) {
  size_t a = 0;
  while (a < s.size()) {
    const size_t n = WhiteSpaceAt(s, a);
    if (n == 0) break;
    a += n;
  }
  size_t b = s.size();
  while (b > a) {
    // White space characters are 1-3 bytes: try each ending at b.
    size_t n = 0;
    for (size_t k = 1; k <= 3 && k <= b - a; k++) {
      if (WhiteSpaceAt(s, b - k) == k) {
        n = k;
        break;
      }
    }
    if (n == 0) break;
    b -= n;
  }
  return s.substr(a, b - a);
}

unsigned char AsciiLower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

bool EqualsAsciiCi(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t k = 0; k < lower.size(); k++) {
    if (AsciiLower(static_cast<unsigned char>(text[k])) != static_cast<unsigned char>(lower[k])) return false;
  }
  return true;
}

// ---- redact.ts: URL credentials ------------------------------------------------------------

bool IsLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSchemeChar(unsigned char c) { return IsLetter(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'; }

// Index of the last `@` of the authority starting at `from`, or npos (redact.ts userinfoEnd).
size_t UserinfoEnd(std::string_view v, size_t from) {
  size_t at = std::string_view::npos;
  for (size_t i = from; i < v.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '@') {
      at = i;
    } else if (c == '/' || c == '?' || c == '#' || c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x80 && WhiteSpaceAt(v, i) > 0)) {
      break;
    }
  }
  return at;
}

std::string RedactSchemeUserinfo(std::string_view v) {
  std::string out;
  size_t copied = 0;
  size_t from = 0;
  for (size_t sep = v.find("://"); sep != std::string_view::npos; sep = v.find("://", from)) {
    size_t start = sep;
    while (start > from && IsSchemeChar(static_cast<unsigned char>(v[start - 1]))) start--;
    while (start < sep && !IsLetter(static_cast<unsigned char>(v[start]))) start++;
    const size_t at = start < sep ? UserinfoEnd(v, sep + 3) : std::string_view::npos;
    if (at == std::string_view::npos) {
      from = sep + 1;
      continue;
    }
    out.append(v.substr(copied, sep + 3 - copied));
    out.append(kRedacted);
    copied = at;
    from = at + 1;
  }
  if (copied == 0) return std::string(v);
  out.append(v.substr(copied));
  return out;
}

// redact.ts redactHeaderCredentials, one value.
std::string RedactHeaderValueCredentials(std::string_view name, std::string_view value) {
  if (value.find('@') == std::string_view::npos) return std::string(value);
  if (EqualsAsciiCi(name, "host") || EqualsAsciiCi(name, ":authority")) return RedactAuthority(value);
  return RedactUrlCredentials(value);
}

// ---- redact-query.ts -------------------------------------------------------------------------

int HexDigit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const unsigned char l = c | 0x20;
  return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

// `%XY` at i as a byte, or -1 (JS: i + 2 >= length is none).
int PercentCode(std::string_view t, size_t i) {
  if (t[i] != '%' || i + 2 >= t.size()) return -1;
  const int hi = HexDigit(static_cast<unsigned char>(t[i + 1]));
  const int lo = HexDigit(static_cast<unsigned char>(t[i + 2]));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

bool IsUrlEnd(unsigned char c) { return c <= 0x20 || c == '#' || c == '>' || c == '"' || c == '\'' || c == '<'; }

size_t SeparatorAt(std::string_view t, size_t i) {
  const char c = t[i];
  if (c == '?' || c == '&' || c == ';' || c == '#') return 1;
  if (c == '%') {
    const int d = PercentCode(t, i);
    if (d == '?' || d == '&' || d == '#') return 3;
  }
  return 0;
}

size_t EqualsAt(std::string_view t, size_t i) {
  const char c = t[i];
  if (c == '=') return 1;
  return c == '%' && PercentCode(t, i) == '=' ? 3 : 0;
}

// Appends the lower case of code point `cp` as JS toLowerCase would for the letters folded here.
void AppendLowerCodePoint(uint32_t cp, std::string* out) {
  if (cp >= 'A' && cp <= 'Z') cp |= 0x20;
  else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) cp += 0x20;  // Latin-1 capitals
  else if (cp == 0x212a) cp = 'k';                               // KELVIN SIGN
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// The code points of valid UTF-8 text, each passed to `fn` (a truncated last sequence gives
// what its bytes hold).
template <typename Fn>
void ForEachCodePoint(std::string_view s, Fn&& fn) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (i + n > s.size()) n = s.size() - i;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; k < n; k++) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    fn(cp);
    i += n;
  }
}

// Lower case of valid UTF-8 text (see the header's note on what is folded).
std::string LowerText(std::string_view s) {
  std::string out;
  ForEachCodePoint(s, [&](uint32_t cp) { AppendLowerCodePoint(cp, &out); });
  return out;
}

bool IsSecretName(std::string_view t, size_t from, size_t to, const std::vector<std::string>& names) {
  const std::string_view name = t.substr(from, to - from);
  for (const auto& n : names) {
    if (EqualsAsciiCi(name, n)) return true;
  }
  for (size_t k = from; k < to; k++) {
    if (t[k] == '%' || t[k] == '+') {
      std::string spaced(name);
      for (char& c : spaced) {
        if (c == '+') c = ' ';
      }
      std::string decoded;
      if (!DecodeUriComponent(spaced, &decoded)) return false;
      const std::string lower = LowerText(decoded);
      for (const auto& n : names) {
        if (n == lower) return true;
      }
      return false;
    }
  }
  return false;
}

size_t IndexOfEncodedQuestion(std::string_view t, size_t from) {
  for (size_t i = t.find('%', from); i != std::string_view::npos; i = t.find('%', i + 1)) {
    if (PercentCode(t, i) == '?') return i;
  }
  return std::string_view::npos;
}

// Where redactQuerySecrets' walk starts: the first `?` (else the first `%3F`), or the first `#`
// when earlier (a fragment's parameters are read as a query's: review11 F7); npos for none.
size_t QueryStart(std::string_view t) {
  size_t q = t.find('?');
  if (q == std::string_view::npos) {
    q = t.find("%3");
    if (q != std::string_view::npos && PercentCode(t, q) != '?') q = IndexOfEncodedQuestion(t, q);
  }
  return std::min(q, t.find('#'));
}

// redactQuerySecrets' walk from `q`: each parameter with an `=` (`name=`, its name non-empty) is
// passed to `on(name_start, name_end, value_start)`, which returns where the walk goes on
// (npos: it stops). The one walk of QuerySecrets and LineMayHoldSecretQuery.
template <typename OnParam>
void WalkQuery(std::string_view t, size_t q, OnParam&& on) {
  size_t i = q;
  const size_t n = t.size();
  while (i < n) {
    const size_t sep = SeparatorAt(t, i);
    if (sep == 0) {
      i++;
      continue;
    }
    const size_t name_start = i + sep;
    size_t j = name_start;
    size_t eq = 0;
    while (j < n) {
      const unsigned char c = static_cast<unsigned char>(t[j]);
      if (IsUrlEnd(c) || SeparatorAt(t, j) > 0) break;
      eq = EqualsAt(t, j);
      if (eq > 0) break;
      j++;
    }
    if (eq == 0 || j == name_start) {
      i = j > name_start ? j : name_start;
      continue;
    }
    i = on(name_start, j, j + eq);
  }
}

// redactQuerySecrets: with `visit`, each secret value is passed to it; else *out is the text with
// each replaced. Returns false when nothing was replaced (then *out is untouched).
template <typename Visit>
bool QuerySecrets(std::string_view t, const std::vector<std::string>& names, Visit&& visit, std::string* out) {
  const size_t q = QueryStart(t);
  if (q == std::string_view::npos) return false;
  bool replaced = false;
  size_t copied = 0;
  const size_t n = t.size();
  WalkQuery(t, q, [&](size_t name_start, size_t name_end, size_t value_start) -> size_t {
    if (!IsSecretName(t, name_start, name_end, names)) return name_end;
    size_t k = value_start;
    while (k < n) {
      const unsigned char c = static_cast<unsigned char>(t[k]);
      if (IsUrlEnd(c) || c == '&' || c == ';') break;
      if (c == '%' && PercentCode(t, k) == '&') break;
      k++;
    }
    if (k > value_start && t.substr(value_start, k - value_start) != kRedacted) {
      if (out == nullptr) {
        visit(t.substr(value_start, k - value_start));
      } else {
        out->append(t.substr(copied, value_start - copied));
        out->append(kRedacted);
        copied = k;
        replaced = true;
      }
    }
    return k;
  });
  if (!replaced) return false;
  out->append(t.substr(copied));
  return true;
}

std::string RedactQuerySecrets(std::string_view t, const std::vector<std::string>& names) {
  std::string out;
  if (!QuerySecrets(t, names, [](std::string_view) {}, &out)) return std::string(t);
  return out;
}

// ---- redact-values.ts ------------------------------------------------------------------------

// Each `\xHH` of a non-ASCII byte in `s` (how a header value shows a byte that is not UTF-8)
// rewritten by `emit(byte, hex, out)`, everything else copied: the one walk of the two spellings below.
template <typename Emit>
std::string MapByteEscapes(std::string_view s, Emit emit) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      const int h = HexDigit(static_cast<unsigned char>(s[i + 2]));
      const int l = HexDigit(static_cast<unsigned char>(s[i + 3]));
      if (h >= 8 && l >= 0) {
        emit(static_cast<unsigned>((h << 4) | l), s.substr(i + 2, 2), &out);
        i += 4;
        continue;
      }
    }
    out.push_back(s[i]);
    i++;
  }
  return out;
}

// byteEscapesAsPercent: each `\xHH` as `%HH` (upper-case hex), how a URL carries the byte.
std::string ByteEscapesAsPercent(std::string_view s) {
  return MapByteEscapes(s, [](unsigned, std::string_view hex, std::string* out) {
    out->push_back('%');
    for (const char d : hex) out->push_back(d >= 'a' && d <= 'f' ? static_cast<char>(d - 0x20) : d);
  });
}

// byteEscapesAsLatin1: each `\xHH` as the Latin-1 character of that byte, in UTF-8 (`\xE9` -> `é`).
std::string ByteEscapesAsLatin1(std::string_view s) {
  return MapByteEscapes(s, [](unsigned b, std::string_view, std::string* out) {
    out->push_back(static_cast<char>(0xc0 | (b >> 6)));
    out->push_back(static_cast<char>(0x80 | (b & 0x3f)));
  });
}

// decodeBytesAsHeaderText: the bytes of `s` with its `%HH` escapes decoded (a `%` without two hex
// digits stays), read as an event reads a header value (DecodeFieldText): valid UTF-8 as is, any
// other byte as `\xHH`.
std::string DecodeBytesAsHeaderText(std::string_view s) {
  std::string bytes;
  bytes.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const int b = s[i] == '%' ? PercentCode(s, i) : -1;
    if (b >= 0) {
      bytes.push_back(static_cast<char>(b));
      i += 3;
    } else {
      bytes.push_back(s[i]);
      i++;
    }
  }
  return DecodeFieldText(bytes, EscapeStyle::kBackslash);
}

// redact-values.ts latin1Bytes: when `s` (UTF-8) holds a character of U+0080-U+00FF and none
// beyond, each such character as `%HH` (*percent) and as `\xHH` (*escaped), its Latin-1 byte: how
// an ISO-8859-1 app echoes `é` (C3 A9) in a URL or a header.
bool Latin1Spellings(std::string_view s, std::string* percent, std::string* escaped) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  bool any = false;
  for (size_t i = 0; i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      percent->push_back(static_cast<char>(c));
      escaped->push_back(static_cast<char>(c));
      continue;
    }
    // U+0080-U+00FF is C2 or C3 and one continuation byte; anything else is beyond Latin-1.
    if ((c != 0xc2 && c != 0xc3) || i + 1 >= s.size()) return false;
    const unsigned char d = static_cast<unsigned char>(s[i + 1]);
    if ((d & 0xc0) != 0x80) return false;
    const unsigned b = ((c & 0x1f) << 6) | (d & 0x3f);
    percent->push_back('%');
    escaped->append("\\x");
    for (std::string* out : {percent, escaped}) {
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 0x0f]);
    }
    any = true;
    i++;
  }
  return any;
}

class SecretSet {
 public:
  std::vector<std::string> values;

  void Add(std::string_view secret) {
    if (Utf16Length(secret) < kMinSecretChars || secret == kRedacted) return;
    if (values.size() >= kMaxScrubbedSecrets) return;
    AddOne(std::string(secret));
    std::string encoded = EncodeUriComponent(secret);
    if (encoded != secret) AddOne(std::move(encoded));
    std::string latin1_percent, latin1_escaped;
    if (Latin1Spellings(secret, &latin1_percent, &latin1_escaped)) {
      AddOne(std::move(latin1_percent));
      AddOne(std::move(latin1_escaped));
    }
    if (secret.find("\\x") != std::string_view::npos) {
      std::string escaped = ByteEscapesAsPercent(secret);
      if (escaped != secret) {
        // The same bytes as a path shows them, kept however short (redact-values.ts says why).
        AddOne(std::move(escaped), /*even_short=*/true);
        AddOne(ByteEscapesAsLatin1(secret));
      }
    }
    if (secret.find('%') != std::string_view::npos) {
      std::string decoded;
      // Not UTF-8 (or a stray `%`): the bytes as a header shows them, a non-UTF-8 byte as `\xHH`.
      if (!DecodeUriComponent(secret, &decoded)) decoded = DecodeBytesAsHeaderText(secret);
      std::string latin1;
      if (decoded.find("\\x") != std::string::npos) latin1 = ByteEscapesAsLatin1(decoded);
      const bool other = !latin1.empty() && latin1 != decoded;
      AddOne(std::move(decoded));
      if (other) AddOne(std::move(latin1));
    }
  }

 private:
  void AddOne(std::string secret, bool even_short = false) {
    const size_t len = Utf16Length(secret);
    if ((!even_short && len < kMinSecretChars) || secret == kRedacted) return;
    for (const auto& v : values) {
      if (v == secret) return;
    }
    if (values.size() >= kMaxScrubbedSecrets) return;
    size_t at = values.size();
    while (at > 0 && Utf16Length(values[at - 1]) < len) at--;
    values.insert(values.begin() + static_cast<std::ptrdiff_t>(at), std::move(secret));
  }
};

// Each part of `v` split at `sep` (String.prototype.split).
template <typename Fn>
void ForEachPart(std::string_view v, char sep, Fn&& fn) {
  size_t from = 0;
  for (;;) {
    const size_t at = v.find(sep, from);
    fn(v.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
}

void CookieValue(std::string_view pair, SecretSet* set) {
  const size_t eq = pair.find('=');
  std::string_view value = JsTrim(eq == std::string_view::npos ? pair : pair.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  set->Add(value);
}

// redact-values.ts headerSecrets.
void HeaderSecrets(std::string_view lower_name, std::string_view value, SecretSet* set) {
  const std::string_view v = JsTrim(value);
  if (lower_name == "authorization" || lower_name == "proxy-authorization") {
    // The scheme ends at any JS white space (redact-values.ts: `Bearer<TAB>T`, review11).
    size_t sp = 0;
    while (sp < v.size() && WhiteSpaceAt(v, sp) == 0) sp++;
    if (sp == v.size()) return set->Add(v);
    const std::string_view credential = JsTrim(v.substr(sp));
    set->Add(credential);
    if (EqualsAsciiCi(v.substr(0, sp), "basic")) {
      const std::string decoded = NodeBase64ToUtf8(credential);
      const size_t colon = decoded.find(':');
      if (colon != std::string::npos) {
        const std::string_view password = std::string_view(decoded).substr(colon + 1);
        set->Add(password);
        // An empty or placeholder password (`KEY:`): the user name is the credential (review11 F6).
        if (Utf16Length(password) < kMinSecretChars) set->Add(std::string_view(decoded).substr(0, colon));
      }
    }
    return;
  }
  if (lower_name == "cookie") {
    ForEachPart(v, ';', [&](std::string_view pair) {
      CookieValue(pair, set);
      // Pairs joined with `,` too (`a=1, session=S`): each one's value besides the whole.
      if (pair.find(',') != std::string_view::npos) ForEachPart(pair, ',', [&](std::string_view part) { CookieValue(part, set); });
    });
    return;
  }
  if (lower_name == "set-cookie") return CookieValue(v.substr(0, v.find(';')), set);
  set->Add(v);
}

// The lower-case sensitive name `name` is (ASCII case-insensitive), or nullptr.
const std::string* SensitiveName(std::string_view name, const LabelSecretPolicy& policy) {
  for (const auto& s : policy.sensitive) {
    if (EqualsAsciiCi(name, s)) return &s;
  }
  return nullptr;
}

// ---- redact-values.ts: other spellings (review10) --------------------------------------------

struct Normalized {
  std::string view;
  std::vector<size_t> starts;  // per view byte: where in the text its character or escape begins; [view.size()] = text.size()
};

// The length in `text` of the escaped UTF-8 sequence of one character at `at`, or 0 (escapedUtf8Width).
size_t EscapedUtf8Width(std::string_view text, size_t at, int lead) {
  const size_t bytes = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (bytes == 0 || at + bytes * 3 > text.size()) return 0;
  for (size_t b = 1; b < bytes; b++) {
    const size_t p = at + b * 3;
    if (text[p] != '%') return 0;
    const int h = HexDigit(static_cast<unsigned char>(text[p + 1]));
    const int l = HexDigit(static_cast<unsigned char>(text[p + 2]));
    if (h < 0 || l < 0 || ((h << 4) | l) < 0x80 || ((h << 4) | l) > 0xbf) return 0;
  }
  std::string decoded;
  return DecodeUriComponent(text.substr(at, bytes * 3), &decoded) ? bytes * 3 : 0;
}

// normalizeEscapes: false when the view would be the text itself.
bool NormalizeEscapes(std::string_view text, bool plus_is_space, Normalized* out) {
  if (text.find('%') == std::string_view::npos && !(plus_is_space && text.find('+') != std::string_view::npos)) return false;
  out->view.clear();
  out->starts.clear();
  bool changed = false;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    std::string replacement;
    bool has_replacement = false;
    size_t width = 1;
    if (c == '%' && i + 2 < text.size()) {
      const int h = HexDigit(static_cast<unsigned char>(text[i + 1]));
      const int l = HexDigit(static_cast<unsigned char>(text[i + 2]));
      if (h >= 0 && l >= 0) {
        const int byte = (h << 4) | l;
        const size_t utf8_width = byte < 0x80 ? 0 : EscapedUtf8Width(text, i, byte);
        has_replacement = true;
        if (byte < 0x80) {
          replacement.assign(1, static_cast<char>(byte));
        } else if (utf8_width > 0) {
          DecodeUriComponent(text.substr(i, utf8_width), &replacement);
        } else {
          replacement = "%";
          for (size_t k = 1; k <= 2; k++) {
            const char d = text[i + k];
            replacement.push_back(d >= 'a' && d <= 'f' ? static_cast<char>(d - 0x20) : d);
          }
        }
        width = utf8_width > 0 ? utf8_width : 3;
      }
    } else if (plus_is_space && c == '+') {
      has_replacement = true;
      replacement = " ";
    }
    if (!has_replacement) {
      out->view.push_back(static_cast<char>(c));
      out->starts.push_back(i);
      i++;
      continue;
    }
    if (replacement != text.substr(i, width)) changed = true;
    for (size_t k = 0; k < replacement.size(); k++) out->starts.push_back(i);
    out->view.append(replacement);
    i += width;
  }
  if (!changed) return false;
  out->starts.push_back(text.size());
  return true;
}

// Where a match ending before view byte `k` ends in the text (past the whole escape it ends in).
size_t EndInText(const std::vector<size_t>& starts, size_t k, size_t view_length) {
  const size_t last = starts[k - 1];
  size_t i = k;
  while (i < view_length && starts[i] <= last) i++;
  return starts[i];
}

// How many times a text is percent-decoded to look for a secret (redact-values.ts MAX_ESCAPE_LEVELS).
constexpr int kMaxEscapeLevels = 3;

// scrubNormalized: what matches one of `forms` in the normalized view, or in the view of that view
// (up to kMaxEscapeLevels decodings), as [redacted].
std::string ScrubNormalized(const std::string& text, const std::vector<std::string>& forms, bool plus_is_space) {
  if (forms.empty()) return text;
  Normalized n;
  if (!NormalizeEscapes(text, plus_is_space, &n)) return text;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (int level = 1;; level++) {
    for (const auto& f : forms) {
      for (size_t at = n.view.find(f); at != std::string::npos; at = n.view.find(f, at + f.size())) {
        ranges.emplace_back(n.starts[at], EndInText(n.starts, at + f.size(), n.view.size()));
      }
    }
    if (level == kMaxEscapeLevels) break;
    Normalized deeper;
    if (!NormalizeEscapes(n.view, plus_is_space, &deeper)) break;
    // Each byte of the deeper view begins in `text` where its byte of this view began.
    for (auto& start : deeper.starts) start = n.starts[start];
    n = std::move(deeper);
  }
  if (ranges.empty()) return text;
  std::stable_sort(ranges.begin(), ranges.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::string out;
  size_t from = 0;
  size_t start = ranges[0].first, end = ranges[0].second;
  for (size_t r = 1; r < ranges.size(); r++) {
    const auto [a, b] = ranges[r];
    if (a < end) {
      end = std::max(end, b);
      continue;
    }
    out.append(text, from, start - from);
    out.append(kRedacted);
    from = end;
    start = a;
    end = b;
  }
  out.append(text, from, start - from);
  out.append(kRedacted);
  out.append(text, end, std::string::npos);
  return out;
}

// normalizedForms: the secrets' normalized spellings (8+ characters, or as long as their secret), longest first; `spaced`: those holding a space.
void NormalizedForms(const std::vector<std::string>& secrets, std::vector<std::string>* plain, std::vector<std::string>* spaced) {
  auto add = [](std::vector<std::string>* list, const std::string& v) {
    for (const auto& x : *list) {
      if (x == v) return;
    }
    list->push_back(v);
  };
  for (const auto& s : secrets) {
    Normalized n;
    const std::string p = NormalizeEscapes(s, false, &n) ? n.view : s;
    const size_t len = Utf16Length(p);
    // As long as its secret: only its hex upper-cased (redact-values.ts normalizedForms says why).
    const bool kept = len >= kMinSecretChars || len == Utf16Length(s);
    if (kept) add(plain, p);
    if (kept && p.find(' ') != std::string::npos) add(spaced, p);
  }
  auto longest_first = [](std::vector<std::string>* list) {
    std::stable_sort(list->begin(), list->end(), [](const std::string& a, const std::string& b) { return Utf16Length(a) > Utf16Length(b); });
  };
  longest_first(plain);
  longest_first(spaced);
}

std::string ScrubSecretsAsWritten(std::string_view text, const std::vector<std::string>& secrets);

// scrubSecrets: every spelling (review10's pass), then as written.
std::string ScrubSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return std::string(text);
  std::string out(text);
  const bool has_percent = out.find('%') != std::string::npos;
  if (has_percent || out.find('+') != std::string::npos) {
    std::vector<std::string> plain, spaced;
    NormalizedForms(secrets, &plain, &spaced);
    if (has_percent) out = ScrubNormalized(out, plain, false);
    // A `+` may also be one decoding away (redact-values.ts).
    if (!spaced.empty() && (has_percent || out.find('+') != std::string::npos)) out = ScrubNormalized(out, spaced, true);
  }
  return ScrubSecretsAsWritten(out, secrets);
}

std::string ScrubSecretsAsWritten(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const auto& s : secrets) {
    size_t at = out.find(s);
    if (at == std::string::npos) continue;
    std::string next;
    size_t copied = 0;
    while (at != std::string::npos) {
      next.append(out, copied, at - copied);
      next.append(kRedacted);
      copied = at + s.size();
      at = out.find(s, copied);
    }
    next.append(out, copied, std::string::npos);
    out = std::move(next);
  }
  return out;
}

// WHATWG UTF-8 decode (what Buffer#toString('utf8') does): invalid sequences become U+FFFD, one
// per maximal subpart.
std::string Utf8Replace(const std::string& b) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  size_t i = 0;
  const size_t n = b.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(b[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      i++;
      continue;
    }
    size_t need;
    unsigned char lower = 0x80, upper = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lower = 0xa0;
      if (c == 0xed) upper = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lower = 0x90;
      if (c == 0xf4) upper = 0x8f;
    } else {
      out.append(kReplacement);
      i++;
      continue;
    }
    size_t k = 1;
    bool ok = true;
    for (; k <= need; k++) {
      if (i + k >= n) {
        ok = false;
        break;
      }
      const unsigned char d = static_cast<unsigned char>(b[i + k]);
      const unsigned char lo = k == 1 ? lower : 0x80, hi = k == 1 ? upper : 0xbf;
      if (d < lo || d > hi) {
        ok = false;
        break;
      }
    }
    if (ok) {
      out.append(b, i, need + 1);
      i += need + 1;
    } else {
      out.append(kReplacement);
      i += k;  // the lead byte and the valid continuation bytes before the bad one
    }
  }
  return out;
}

// The UTF-16 code units of valid UTF-8 text, each passed to `fn`.
template <typename Fn>
void ForEachUtf16Unit(std::string_view s, Fn&& fn) {
  ForEachCodePoint(s, [&](uint32_t cp) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      fn(static_cast<uint16_t>(0xd800 + (cp >> 10)));
      fn(static_cast<uint16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      fn(static_cast<uint16_t>(cp));
    }
  });
}

int Unbase64(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return 64;
}

}  // namespace

LabelSecretPolicy DefaultLabelSecretPolicy() {
  LabelSecretPolicy p;
  p.sensitive = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "api-key", "apikey", "x-goog-api-key",
                 "ocp-apim-subscription-key", "x-functions-key", "x-vault-token", "private-token", "x-access-token", "x-amz-security-token"};
  p.query_names = {"password", "passwd", "secret", "token", "access_token", "refresh_token", "api_key", "authorization", "client_secret",
                   "apikey", "api-key", "id_token", "session_token", "auth", "sig", "signature", "x-amz-signature", "x-amz-credential",
                   "x-amz-security-token", "x-goog-signature", "x-goog-credential"};
  return p;
}

std::string RedactUrlCredentials(std::string_view value) {
  if (value.find('@') == std::string_view::npos) return std::string(value);
  std::string out = RedactSchemeUserinfo(value);
  if (out.compare(0, 2, "//") != 0) return out;
  const size_t at = UserinfoEnd(out, 2);
  if (at == std::string::npos) return out;
  std::string r("//");
  r.append(kRedacted);
  r.append(out, at, std::string::npos);
  return r;
}

// Node's base64 decoder (src/base64-inl.h): each UTF-16 code unit's low byte is read; characters
// outside both alphabets are skipped, `=` ends decoding, and the output is at most the size
// computed from the input's length.
std::string NodeBase64ToUtf8(std::string_view s) {
  std::vector<uint16_t> units;
  ForEachUtf16Unit(s, [&](uint16_t u) { units.push_back(u); });
  const size_t srclen = units.size();
  // The buffer's size (lib/buffer.js base64ByteLength) and the decoder's own bound
  // (base64_decoded_size): both drop up to two trailing `=`, then differ in rounding.
  size_t bytes = srclen;
  if (bytes > 0 && units[bytes - 1] == '=') bytes--;
  if (bytes > 1 && units[bytes - 1] == '=') bytes--;
  const size_t dstlen = (bytes * 3) >> 2;
  size_t size = srclen;
  size_t decoded_size = 0;
  if (size >= 2) {
    if (units[size - 1] == '=') {
      size--;
      if (units[size - 1] == '=') size--;
    }
    decoded_size = size > 1 ? (size / 4) * 3 + (size % 4 + 1) / 2 : 0;
  }
  std::string dst(dstlen, '\0');
  size_t i = 0, k = 0;
  auto byte = [&](size_t at) { return static_cast<uint8_t>(units[at] & 0xff); };
  // One group of the slow path (base64_decode_group_slow); false: stop decoding.
  auto slow = [&]() -> bool {
    uint8_t hi = 0, lo = 0;
    for (int step = 0; step < 4; step++) {
      for (;;) {
        const uint8_t c = byte(i);
        const int v = Unbase64(c);
        i++;
        if (v < 64) {
          lo = static_cast<uint8_t>(v);
          break;
        }
        if (c == '=' || i >= srclen) return false;
      }
      if (step == 1) dst[k++] = static_cast<char>(((hi & 0x3f) << 2) | ((lo & 0x30) >> 4));
      if (step == 2) dst[k++] = static_cast<char>(((hi & 0x0f) << 4) | ((lo & 0x3c) >> 2));
      if (step == 3) dst[k++] = static_cast<char>(((hi & 0x03) << 6) | (lo & 0x3f));
      if (i >= srclen) return false;
      if (k >= dstlen) return false;
      hi = lo;
    }
    return true;
  };
  const size_t available = dstlen < decoded_size ? dstlen : decoded_size;
  const size_t max_k = available / 3 * 3;
  size_t max_i = srclen / 4 * 4;
  bool stopped = false;
  while (i < max_i && k < max_k) {
    const int a = Unbase64(byte(i)), b = Unbase64(byte(i + 1)), c = Unbase64(byte(i + 2)), d = Unbase64(byte(i + 3));
    if (a >= 64 || b >= 64 || c >= 64 || d >= 64) {
      if (!slow()) {
        stopped = true;
        break;
      }
      max_i = i + (srclen - i) / 4 * 4;
    } else {
      dst[k++] = static_cast<char>((a << 2) | (b >> 4));
      dst[k++] = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
      dst[k++] = static_cast<char>(((c & 0x03) << 6) | d);
      i += 4;
    }
  }
  if (!stopped && i < srclen && k < dstlen) slow();
  dst.resize(k);
  return Utf8Replace(dst);
}

std::string EncodeUriComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (IsLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' || c == '*' || c == '\'' || c == '(' ||
        c == ')') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

bool DecodeUriComponent(std::string_view s, std::string* out) {
  out->clear();
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      i++;
      continue;
    }
    const int b = PercentCode(s, i);  // -1 when fewer than two hex digits follow: URIError
    if (b < 0) return false;
    i += 3;
    if (b < 0x80) {
      out->push_back(static_cast<char>(b));
      continue;
    }
    size_t need;
    if ((b & 0xe0) == 0xc0) need = 1;
    else if ((b & 0xf0) == 0xe0) need = 2;
    else if ((b & 0xf8) == 0xf0) need = 3;
    else return false;
    std::string seq(1, static_cast<char>(b));
    for (size_t k = 0; k < need; k++) {
      if (i >= n || s[i] != '%') return false;
      const int c = PercentCode(s, i);
      if (c < 0 || (c & 0xc0) != 0x80) return false;
      seq.push_back(static_cast<char>(c));
      i += 3;
    }
    // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
    const unsigned char c0 = static_cast<unsigned char>(seq[0]), c1 = static_cast<unsigned char>(seq[1]);
    if (need == 1 && c0 < 0xc2) return false;
    if (need == 2 && ((c0 == 0xe0 && c1 < 0xa0) || (c0 == 0xed && c1 >= 0xa0))) return false;
    if (need == 3 && ((c0 == 0xf0 && c1 < 0x90) || (c0 == 0xf4 && c1 >= 0x90) || c0 > 0xf4)) return false;
    out->append(seq);
  }
  return true;
}

std::vector<std::string> CollectRequestSecrets(const LabelSecretPolicy& policy, std::string_view path, const std::vector<LabelField>& headers, bool* found) {
  SecretSet set;
  *found = false;
  bool saw_cookie = false;
  auto add = [&](std::string_view s) {
    *found = true;
    set.Add(s);
  };
  auto scan = [&](bool cookies) {
    for (const auto& [name, value] : headers) {
      const std::string* lower = SensitiveName(name, policy);
      const bool is_cookie = lower != nullptr && (*lower == "cookie" || *lower == "set-cookie");
      if (is_cookie) saw_cookie = true;
      if (cookies != is_cookie) continue;
      if (lower == nullptr) {
        QuerySecrets(value, policy.query_names, add, nullptr);
      } else {
        *found = true;
        HeaderSecrets(*lower, value, &set);
      }
    }
  };
  scan(false);
  QuerySecrets(path, policy.query_names, add, nullptr);
  if (saw_cookie) scan(true);
  return std::move(set.values);
}

ShownRequest ShowRequest(const LabelSecretPolicy& policy, std::string_view authority, std::string_view path, const std::vector<LabelField>& headers) {
  ShownRequest out{RedactAuthority(authority), RedactUrlCredentials(path)};
  // The headers as the event holds them: URL credentials redacted first.
  std::vector<std::string> redacted;
  std::vector<LabelField> view;
  const std::vector<LabelField>* fields = &headers;
  for (size_t i = 0; i < headers.size(); i++) {
    if (headers[i].second.find('@') == std::string_view::npos) continue;
    if (view.empty()) {
      view = headers;
      redacted.reserve(headers.size());
    }
    redacted.push_back(RedactHeaderValueCredentials(headers[i].first, headers[i].second));
    view[i].second = redacted.back();
    fields = &view;
  }
  bool found = false;
  const std::vector<std::string> secrets = CollectRequestSecrets(policy, out.path, *fields, &found);
  if (!found) return out;
  out.path = RedactQuerySecrets(out.path, policy.query_names);
  if (secrets.empty()) return out;
  out.authority = ScrubSecrets(out.authority, secrets);
  out.path = ScrubSecrets(out.path, secrets);
  return out;
}

bool IsSensitiveName(std::string_view name, const LabelSecretPolicy& policy) { return SensitiveName(name, policy) != nullptr; }

namespace {

// Whether one line of an HTTP/1 head (the request line or a field line, raw octets) may hold a
// secret-named query parameter with a value: QuerySecrets' own walk (from the line's first `?` or
// `%3`, the same separators, name ends and `=`), deciding each name without decoding or
// allocating. A name QuerySecrets would decode (a `%` or `+` in it) or that holds a non-ASCII byte
// (decoding escapes a byte that is not UTF-8) counts as secret: the caller then decodes.
[[gnu::always_inline]] inline bool LineMayHoldSecretQuery(std::string_view t, const std::vector<std::string>& names) {
  // Started where QuerySecrets starts in the line (a field line's name, before its value, never
  // holds a `?`; a `#` or `%` there only starts the walk earlier, which finds more, never less).
  const size_t q = QueryStart(t);
  if (q == std::string_view::npos) return false;
  bool may = false;
  WalkQuery(t, q, [&](size_t name_start, size_t name_end, size_t) -> size_t {
    const std::string_view name = t.substr(name_start, name_end - name_start);
    for (const unsigned char c : name) {
      if (c == '%' || c == '+' || c >= 0x80) may = true;
    }
    for (const auto& secret : names) {
      if (EqualsAsciiCi(name, secret)) may = true;
    }
    return may ? std::string_view::npos : name_end;
  });
  return may;
}

}  // namespace

bool MayHoldSecretQuery(std::string_view text, const LabelSecretPolicy& policy) { return LineMayHoldSecretQuery(text, policy.query_names); }

bool MayHideValues(const std::string& head, const LabelSecretPolicy& policy) {
  // A sensitive header, or a secret-named query parameter in the target or a field value. Any
  // `?` used to count: most API traffic decoded every field of its head for nothing (review10).
  // Only lines holding a `?` or `%3` are walked (found by memchr).
  const std::string_view h(head);
  size_t pos = h.find("\r\n");
  if (pos == std::string_view::npos) return true;
  if (LineMayHoldSecretQuery(h.substr(0, pos), policy.query_names)) return true;
  pos += 2;
  const size_t limit = h.size() >= 2 ? h.size() - 2 : 0;
  while (pos < limit) {
    const size_t end = h.find("\r\n", pos);
    const size_t colon = h.find(':', pos);
    if (end == std::string_view::npos || colon == std::string_view::npos) return true;
    if (SensitiveName(h.substr(pos, colon - pos), policy) != nullptr) return true;
    if (LineMayHoldSecretQuery(h.substr(pos, end - pos), policy.query_names)) return true;
    pos = end + 2;
  }
  return false;
}

void H1HeadFields(const std::string& head, std::vector<std::string>* storage, std::vector<LabelField>* out) {
  // The first field line follows the request line; the head ends with the empty line.
  size_t pos = head.find("\r\n");
  if (pos == std::string::npos) return;
  pos += 2;
  const size_t limit = head.size() >= 2 ? head.size() - 2 : 0;
  std::vector<std::pair<size_t, size_t>> names;
  storage->clear();
  while (pos < limit) {
    const size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) break;
    const size_t colon = head.find(':', pos);
    if (colon == std::string::npos || colon > end) break;
    size_t a = colon + 1, b = end;
    while (a < b && (head[a] == ' ' || head[a] == '\t')) a++;
    while (b > a && (head[b - 1] == ' ' || head[b - 1] == '\t')) b--;
    names.emplace_back(pos, colon - pos);
    storage->push_back(DecodeFieldText(head.substr(a, b - a), EscapeStyle::kBackslash));
    pos = end + 2;
  }
  out->clear();
  for (size_t i = 0; i < names.size(); i++) out->emplace_back(std::string_view(head).substr(names[i].first, names[i].second), (*storage)[i]);
}

}  // namespace meshtap
