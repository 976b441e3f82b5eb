// SPDX-License-Identifier: Apache-2.0
#include "tap-event-json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "detect-driver.h"

namespace meshtap {
namespace {

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool EqualsAsciiCi(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 'A' && c <= 'Z') c |= 0x20;
    if (c != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

bool IsSensitive(std::string_view name, const TapJsonPolicy& p) {
  for (const auto& s : p.sensitive) {
    if (EqualsAsciiCi(name, s)) return true;
  }
  return false;
}

// No URL credentials (redact.ts acts only on an `@`) and no query string or fragment to scan for
// secret parameters (redact-query.ts starts at a `?`, a %-encoded one, `%3F`, or a `#`).
bool IsPlainValue(std::string_view v) {
  return IsAscii(v) && v.find('@') == std::string_view::npos && v.find('?') == std::string_view::npos && v.find("%3") == std::string_view::npos &&
         v.find('#') == std::string_view::npos;
}

using FieldView = std::pair<std::string_view, std::string_view>;
using FieldViews = std::vector<FieldView>;

bool IsPlainList(const FieldViews& list, const TapJsonPolicy& p) {
  for (const auto& f : list) {
    if (!IsAscii(f.first) || IsSensitive(f.first, p) || !IsPlainValue(f.second)) return false;
  }
  return true;
}

FieldViews ViewsOf(const H2FieldList& list) {
  FieldViews out;
  out.reserve(list.size());
  for (const auto& f : list) out.emplace_back(f.name, f.value);
  return out;
}

// What an event shows of its exchange, whichever protocol it came from.
struct EventFields {
  uint32_t stream = 0;
  bool is_grpc = false;
  const char* protocol = "h2";
  std::string_view method, scheme, authority, path;
  FieldViews request_headers, response_headers, trailers, request_trailers;
  int status = 0;
  bool has_grpc_status = false;
  int64_t grpc_status = 0;
  bool has_grpc_message = false;
  std::string_view grpc_message;
  uint64_t request_bytes = 0, response_bytes = 0;
  uint32_t request_messages = 0, response_messages = 0;
  uint64_t start_ns = 0, response_ns = 0, end_ns = 0;
  const char* error = nullptr;
  const char* unprocessed = nullptr;  // h2-exchange.h UnprocessedName (HTTP/2 only)
  bool response_complete = false;  // HTTP/1: H1Exchange::response_complete
};

constexpr char kSp = ' ';
bool IsOws(char c) { return c == ' ' || c == '\t'; }

// The field lines of an HTTP/1 section (text[start..] up to the empty line that ends it) as the js
// head parser reads them (head-parse.ts decodeFieldLines: the name up to the colon, the value
// without surrounding SP/HTAB; ASCII, so not decoded). False where it could not be read so.
bool H1FieldLines(std::string_view text, size_t start, FieldViews* out) {
  if (text.size() < start + 2 || text.substr(text.size() - 2) != "\r\n") return false;
  const size_t limit = text.size() - 2;
  size_t pos = start;
  while (pos < limit) {
    const size_t end = text.find("\r\n", pos);
    const size_t colon = text.find(':', pos);
    if (end == std::string_view::npos || colon == std::string_view::npos || colon >= end || colon == pos) return false;
    size_t a = colon + 1, b = end;
    while (a < b && IsOws(text[a])) a++;
    while (b > a && IsOws(text[b - 1])) b--;
    out->emplace_back(text.substr(pos, colon - pos), text.substr(a, b - a));
    pos = end + 2;
  }
  return true;
}

bool HasFourDigits(std::string_view s) {
  int run = 0;
  for (char c : s) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    if (run >= 4) return true;
  }
  return false;
}

unsigned char AsciiLower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

bool ContainsAsciiCi(std::string_view text, std::string_view lower) {
  if (lower.empty()) return true;
  if (text.size() < lower.size()) return false;
  const unsigned char first = static_cast<unsigned char>(lower[0]);
  for (size_t i = 0; i + lower.size() <= text.size(); i++) {
    if (AsciiLower(static_cast<unsigned char>(text[i])) == first && EqualsAsciiCi(text.substr(i, lower.size()), lower)) return true;
  }
  return false;
}

// Whether bytes read as text (body-redact.ts isTextLike): no control byte but tab, LF and CR.
bool IsTextLike(std::string_view data) {
  for (unsigned char c : data) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
  }
  return true;
}

// Whether proxy/body-redact.ts redactBody leaves this captured body (its event text) alone: empty,
// binary (base64 and not text: a non-UTF-8 body that reads as text has its fields redacted in its
// Latin-1 view), or ASCII with nothing its JSON, form and card rules could match.
bool IsPlainBody(std::string_view data, const TapJsonPolicy& p) {
  if (data.empty()) return true;
  if (!IsUtf8(data)) return !IsTextLike(data);
  if (!IsAscii(data) || HasFourDigits(data) || data.find('%') != std::string_view::npos || data.find('+') != std::string_view::npos) return false;
  for (const auto& f : p.body_fields) {
    if (ContainsAsciiCi(data, f)) return false;
  }
  return true;
}

// performance.now() of a record time, as native/index.ts monotonicToPerfMs computes it.
double PerfMs(uint64_t ns, const TapJsonPolicy& p) { return (static_cast<double>(ns) - p.origin_ns) / 1e6; }

// exchange-events.ts wallClock(perfMs): `YYYY-MM-DDTHH:MM:SS.mmmZ`, the same double arithmetic.
bool AppendWallClock(double perf_ms, const TapJsonPolicy& p, std::string* out) {
  const double ms = p.time_origin_ms + perf_ms;
  const double second = std::floor(ms / 1000);
  if (!std::isfinite(second) || second < 0 || second > 253402300799.0) return false;  // years 1970..9999
  const double frac = std::floor(ms - second * 1000);
  // The `YYYY-MM-DDTHH:MM:SS.` of the last second asked for, per worker thread (as wallClock caches it).
  thread_local double cached_second = -1;
  thread_local char cached_prefix[32];
  thread_local size_t cached_len = 0;
  if (second != cached_second) {
    const time_t t = static_cast<time_t>(second);
    struct tm tm;
    if (gmtime_r(&t, &tm) == nullptr) return false;
    const int n = snprintf(cached_prefix, sizeof cached_prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != 20) return false;
    cached_len = static_cast<size_t>(n);
    cached_second = second;
  }
  out->push_back('"');
  out->append(cached_prefix, cached_len);
  if (frac < 10) out->append("00");
  else if (frac < 100) out->push_back('0');
  AppendJsNumber(frac, out);
  out->append("Z\"");
  return true;
}

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void AppendBase64(std::string_view s, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(s[i]) << 16) | (static_cast<uint8_t>(s[i + 1]) << 8) | static_cast<uint8_t>(s[i + 2]);
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back(kBase64[v & 63]);
  }
  if (i + 1 == s.size()) {
    const uint32_t v = static_cast<uint8_t>(s[i]) << 16;
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->append("==");
  } else if (i + 2 == s.size()) {
    const uint32_t v = (static_cast<uint8_t>(s[i]) << 16) | (static_cast<uint8_t>(s[i + 1]) << 8);
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back('=');
  }
}

// UTF-16 units of valid UTF-8 text (a 4-byte sequence is a surrogate pair).
uint32_t Utf16Units(std::string_view s) {
  uint32_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) n += c >= 0xf0 ? 2 : 1;
  }
  return n;
}

void AppendU64(uint64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// exchange-events.ts bodyToTap of a settled capture: {size, truncated, encoding, data}.
void AppendBody(std::string_view data, uint64_t size, std::string* out, uint32_t* chars) {
  out->append("{\"size\":");
  AppendU64(size, out);
  out->append(size > data.size() ? ",\"truncated\":true" : ",\"truncated\":false");
  if (data.empty()) {
    out->append(",\"encoding\":\"utf8\",\"data\":\"\"}");
    return;
  }
  if (IsUtf8(data)) {
    out->append(",\"encoding\":\"utf8\",\"data\":");
    AppendJsonString(data, out);
    *chars += Utf16Units(data);
  } else {
    out->append(",\"encoding\":\"base64\",\"data\":\"");
    const size_t before = out->size();
    AppendBase64(data, out);
    *chars += static_cast<uint32_t>(out->size() - before);
    out->push_back('"');
  }
  out->push_back('}');
}

void Member(const char* name, std::string* out) {
  out->append(",\"");
  out->append(name);
  out->append("\":");
}

bool AppendNumberMember(const char* name, double v, std::string* out) {
  if (!std::isfinite(v)) return false;
  Member(name, out);
  AppendJsNumber(v, out);
  return true;
}

}  // namespace

void AppendJsNumber(double v, std::string* out) {
  if (v == 0) {
    out->push_back('0');
    return;
  }
  if (v < 0) {
    out->push_back('-');
    v = -v;
  }
  // The shortest digits that read back as v (as V8's), then ECMAScript Number::toString's layout.
  char buf[48];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e; i++) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exp10 = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, static_cast<size_t>(n));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    out->push_back('e');
    out->push_back(n - 1 >= 0 ? '+' : '-');
    AppendU64(static_cast<uint64_t>(n - 1 >= 0 ? n - 1 : 1 - n), out);
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

namespace {

void AppendFields(const FieldViews& list, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < list.size(); i++) {
    if (i > 0) out->push_back(',');
    out->push_back('[');
    AppendJsonString(list[i].first, out);
    out->push_back(',');
    AppendJsonString(list[i].second, out);
    out->push_back(']');
  }
  out->push_back(']');
}

bool WriteEventJson(TapEventKind kind, const EventFields& ex, const TapEventConn& conn, const TapJsonPolicy& policy, const std::string* bodies,
                    TapEventJson* out) {
  // Plain? (see the header): the fields this event shows, and those the hub scans for it.
  if (!IsAscii(conn.src) || !IsAscii(conn.dst) || !IsAscii(ex.method) || !IsAscii(ex.scheme) || !IsAscii(ex.authority) ||
      ex.authority.find('@') != std::string_view::npos || !IsPlainValue(ex.path) || !IsPlainList(ex.request_headers, policy)) {
    return false;
  }
  const bool has_response = kind == TapEventKind::kRsp || (kind == TapEventKind::kEnd && ex.status != 0);
  if (has_response && !IsPlainList(ex.response_headers, policy)) return false;
  if (kind == TapEventKind::kEnd) {
    if (!IsPlainList(ex.trailers, policy) || !IsPlainList(ex.request_trailers, policy)) return false;
    if (ex.has_grpc_message && (!IsAscii(ex.grpc_message) || IsSensitive("grpc-message", policy))) return false;
    if (ex.error != nullptr && !IsAscii(ex.error)) return false;
    if (bodies != nullptr && (!IsPlainBody(bodies[0], policy) || !IsPlainBody(bodies[1], policy))) return false;
  }

  std::string& s = out->text;
  s.clear();
  s.reserve(512 + (bodies != nullptr ? bodies[0].size() + bodies[1].size() : 0));
  out->cut_from = out->cut_to = 0;
  out->body_chars = 0;
  // exchange-events.ts baseEvent.
  s.append(kind == TapEventKind::kReq ? "{\"kind\":\"req\",\"id\":\"" : kind == TapEventKind::kRsp ? "{\"kind\":\"rsp\",\"id\":\"" : "{\"kind\":\"end\",\"id\":\"");
  AppendU64(conn.id, &s);
  s.push_back('.');
  AppendU64(ex.stream, &s);
  s.append("\",\"ts\":");
  const double start_ms = PerfMs(ex.start_ns, policy);
  const double response_ms = PerfMs(ex.response_ns, policy);
  const double end_ms = PerfMs(ex.end_ns, policy);
  if (!AppendWallClock(kind == TapEventKind::kReq ? start_ms : kind == TapEventKind::kRsp ? response_ms : end_ms, policy, &s)) return false;
  s.append(conn.inbound ? ",\"proxy\":\"in\",\"src\":" : ",\"proxy\":\"out\",\"src\":");
  AppendJsonString(conn.src, &s);
  s.append(",\"dst\":");
  AppendJsonString(conn.dst, &s);
  s.append(",\"protocol\":\"");
  s.append(ex.protocol);
  s.append("\",\"method\":");
  AppendJsonString(ex.method, &s);
  s.append(",\"scheme\":");
  AppendJsonString(ex.scheme, &s);
  s.append(",\"authority\":");
  AppendJsonString(ex.authority, &s);
  s.append(",\"path\":");
  AppendJsonString(ex.path, &s);
  out->identity_at = static_cast<uint32_t>(s.size());
  // tap-hub.ts eventMessageJson: an rsp leaves without its requestHeaders (they were checked
  // above all the same: the hub scrubs what they hide from the rsp's other fields).
  if (kind != TapEventKind::kRsp) {
    s.append(",\"requestHeaders\":");
    AppendFields(ex.request_headers, &s);
  }
  if (kind == TapEventKind::kReq) {
    s.push_back('}');
    return true;
  }
  if (has_response) {
    Member("status", &s);
    AppendU64(static_cast<uint64_t>(ex.status), &s);
    if (!AppendNumberMember("latencyMs", response_ms - start_ms, &s)) return false;
    s.append(",\"responseHeaders\":");
    AppendFields(ex.response_headers, &s);
  }
  if (kind == TapEventKind::kRsp) {
    s.push_back('}');
    return true;
  }
  // exchange-events.ts endEvent, with native-observation.ts applyH2Outcome's fields.
  if (!ex.trailers.empty()) {
    s.append(",\"trailers\":");
    AppendFields(ex.trailers, &s);
  }
  if (!ex.request_trailers.empty()) {
    s.append(",\"requestTrailers\":");
    AppendFields(ex.request_trailers, &s);
  }
  if (ex.has_grpc_status) {
    Member("grpcStatus", &s);
    AppendJsNumber(static_cast<double>(ex.grpc_status), &s);
  }
  if (ex.has_grpc_message) {
    Member("grpcMessage", &s);
    AppendJsonString(ex.grpc_message, &s);
  }
  if (!AppendNumberMember("durationMs", end_ms - start_ms, &s)) return false;
  if (!AppendNumberMember("requestBytes", static_cast<double>(ex.request_bytes), &s)) return false;
  if (!AppendNumberMember("responseBytes", static_cast<double>(ex.response_bytes), &s)) return false;
  if (ex.is_grpc) {
    Member("requestMessages", &s);
    AppendU64(ex.request_messages, &s);
    Member("responseMessages", &s);
    AppendU64(ex.response_messages, &s);
  }
  if (bodies != nullptr) {
    out->cut_from = static_cast<uint32_t>(s.size());
    s.append(",\"requestBody\":");
    AppendBody(bodies[0], ex.request_bytes, &s, &out->body_chars);
    s.append(",\"responseBody\":");
    AppendBody(bodies[1], ex.response_bytes, &s, &out->body_chars);
    out->cut_to = static_cast<uint32_t>(s.size());
  }
  if (ex.error != nullptr && ex.error[0] != '\0') {
    s.append(",\"error\":");
    AppendJsonString(ex.error, &s);
    // exchange-events.ts endEvent: how top and the dashboard classify it (tap-protocol outcome.ts).
    if (ex.response_complete) s.append(",\"responseComplete\":true");
  }
  if (ex.unprocessed != nullptr) {
    s.append(",\"unprocessed\":");
    AppendJsonString(ex.unprocessed, &s);
  }
  s.push_back('}');
  return true;
}

}  // namespace

bool H2TapEventJson(TapEventKind kind, const H2Exchange& ex, uint32_t stream, const TapEventConn& conn, const TapJsonPolicy& policy,
                    const std::string* bodies, TapEventJson* out) {
  EventFields f;
  f.stream = stream;
  f.is_grpc = ex.is_grpc;
  f.protocol = ex.is_grpc ? "grpc" : "h2";
  f.method = ex.method;
  f.scheme = ex.scheme;
  f.authority = ex.authority;
  f.path = ex.path;
  f.request_headers = ViewsOf(ex.request_headers);
  if (kind != TapEventKind::kReq) f.response_headers = ViewsOf(ex.response_headers);
  if (kind == TapEventKind::kEnd) {
    f.trailers = ViewsOf(ex.trailers);
    f.request_trailers = ViewsOf(ex.request_trailers);
  }
  f.status = ex.status;
  f.has_grpc_status = ex.has_grpc_status;
  f.grpc_status = ex.grpc_status;
  f.has_grpc_message = ex.has_grpc_message;
  f.grpc_message = ex.grpc_message;
  f.request_bytes = ex.request_bytes;
  f.response_bytes = ex.response_bytes;
  f.request_messages = ex.request_messages;
  f.response_messages = ex.response_messages;
  f.start_ns = ex.start_ns;
  f.response_ns = ex.response_ns;
  f.end_ns = ex.end_ns;
  f.error = ex.error;
  f.unprocessed = UnprocessedName(ex.unprocessed);
  return WriteEventJson(kind, f, conn, policy, bodies, out);
}

bool H1TapEventJson(TapEventKind kind, const H1Exchange& ex, const TapEventConn& conn, const TapJsonPolicy& policy, const std::string* bodies,
                    TapEventJson* out) {
  // Read as proxy/http1/head-parse.ts parseRequestHead and exchange-start.ts openParsedExchange
  // read it, for ASCII heads (JS decodes nothing then); JS refuses a head this reads differently
  // (it then makes no event at all, whatever the record carries).
  const std::string_view head = ex.request_head;
  if (!IsAscii(head)) return false;
  const size_t line_end = head.find("\r\n");
  const size_t sp1 = head.find(kSp);
  if (line_end == std::string_view::npos || sp1 == std::string_view::npos || sp1 == 0 || sp1 > line_end) return false;
  const size_t sp2 = head.find(kSp, sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 > line_end || line_end - (sp2 + 1) != 8 || head.substr(sp2 + 1, 7) != "HTTP/1.") return false;
  const char minor = head[sp2 + 8];
  if (minor < '0' || minor > '9') return false;
  EventFields f;
  f.stream = ex.stream;
  f.protocol = minor == '0' ? "http/1.0" : "http/1.1";
  f.method = head.substr(0, sp1);
  f.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!H1FieldLines(head, line_end + 2, &f.request_headers)) return false;
  // request-target.ts resolveRequestTarget for origin-form and `*`: the first Host value (absolute
  // form and CONNECT are left to JS).
  if (f.method == "CONNECT" || f.path.empty() || (f.path[0] != '/' && f.path != "*")) return false;
  f.scheme = "http";
  for (const auto& h : f.request_headers) {
    if (EqualsAsciiCi(h.first, "host")) {
      f.authority = h.second;
      break;
    }
  }
  if (kind != TapEventKind::kReq && (kind == TapEventKind::kRsp || ex.status != 0)) {
    const std::string_view rsp = ex.response_head;
    const size_t end = rsp.find("\r\n");
    if (!IsAscii(rsp) || end == std::string_view::npos || end < 12) return false;
    int status = 0;
    for (size_t i = 9; i < 12; i++) {
      if (rsp[i] < '0' || rsp[i] > '9') return false;
      status = status * 10 + (rsp[i] - '0');
    }
    if (status != ex.status) return false;
    if (!H1FieldLines(rsp, end + 2, &f.response_headers)) return false;
  }
  f.status = ex.status;
  if (kind == TapEventKind::kEnd) {
    if (!IsAscii(ex.trailers) || !IsAscii(ex.request_trailers)) return false;
    if (!ex.trailers.empty() && !H1FieldLines(ex.trailers, 0, &f.trailers)) return false;
    if (!ex.request_trailers.empty() && !H1FieldLines(ex.request_trailers, 0, &f.request_trailers)) return false;
  }
  f.request_bytes = ex.request_bytes;
  f.response_bytes = ex.response_bytes;
  f.start_ns = ex.start_ns;
  f.response_ns = ex.response_ns;
  f.end_ns = ex.end_ns;
  f.error = ex.error;
  f.response_complete = ex.response_complete;
  return WriteEventJson(kind, f, conn, policy, bodies, out);
}

TapEventConn TapEventConnOf(const ObservationDriver& driver) {
  const std::string& a = driver.addresses();  // "src\ndst"
  const size_t nl = a.find('\n');
  TapEventConn conn;
  conn.id = driver.conn_id();
  conn.inbound = driver.is_inbound();
  conn.src = std::string_view(a).substr(0, nl);
  conn.dst = nl == std::string::npos ? std::string_view() : std::string_view(a).substr(nl + 1);
  return conn;
}

}  // namespace meshtap
