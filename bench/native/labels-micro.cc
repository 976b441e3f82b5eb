// SPDX-License-Identifier: Apache-2.0
// Micro-benchmark of the C++ label paths (metrics-h1-sink.cc ShowH1Request's work, and
// metrics-h2-sink.cc ShowH2Request's on the same request as HTTP/2 fields) on requests that hide
// nothing but carry a query string, and one that hides a token: ns per request. Built and run by bench/native-labels-micro.sh (against two versions of the sources).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "metrics-labels.h"
#include "metrics-secrets.h"

using meshtap::LabelField;
using meshtap::ShownRequest;

namespace {

// ShowH1Request without the exchange (metrics-h1-sink.cc).
ShownRequest Show(const meshtap::LabelSecretPolicy& policy, const std::string& head, const std::string& authority, const std::string& path) {
  if (!meshtap::MayHideValues(head, policy)) return ShownRequest{meshtap::RedactAuthority(authority), meshtap::RedactUrlCredentials(path)};
  std::vector<std::string> values;
  std::vector<LabelField> fields;
  meshtap::H1HeadFields(head, &values, &fields);
  return meshtap::ShowRequest(policy, authority, path, fields);
}

std::string Head(const std::string& target, const std::string& extra) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
         "Safari/537.36\r\nAccept: application/json, text/plain, */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, "
         "br\r\nX-Request-Id: 7f3a9c21-4b1e-4d2a-9f0e-1c2b3a4d5e6f\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n" +
         extra + "\r\n";
}

struct H2Field {
  std::string name, value;
};

// ShowH2Request without the exchange (metrics-h2-sink.cc): its pre-check as the sources built
// have it (before sec12: any `?`, `%3` or `#` in the authority, the path or a value counted).
bool MayHideH2(const meshtap::LabelSecretPolicy& policy, const std::string& authority, const std::string& path, const std::vector<H2Field>& fields) {
#ifdef MESHTAP_HAS_MAY_HIDE_FIELD_VALUES
  return meshtap::MayHideFieldValues(policy, authority, path, fields);
#else
  if (meshtap::MayStartHiddenValue(authority) || meshtap::MayStartHiddenValue(path)) return true;
  for (const auto& f : fields) {
    if (meshtap::MayStartHiddenValue(f.value) || meshtap::IsSensitiveName(f.name, policy)) return true;
  }
  return false;
#endif
}

ShownRequest ShowH2(const meshtap::LabelSecretPolicy& policy, const std::string& authority, const std::string& path, const std::vector<H2Field>& fields) {
  if (!MayHideH2(policy, authority, path, fields)) return ShownRequest{meshtap::RedactAuthority(authority), meshtap::RedactUrlCredentials(path)};
  std::vector<LabelField> view;
  view.reserve(fields.size());
  for (const auto& f : fields) view.emplace_back(f.name, f.value);
  return meshtap::ShowRequest(policy, authority, path, view);
}

std::vector<H2Field> H2Fields(const std::string& path, const std::vector<H2Field>& extra) {
  std::vector<H2Field> out = {{":method", "GET"},
                              {":scheme", "https"},
                              {":authority", "shop.example"},
                              {":path", path},
                              {"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
                              {"accept", "application/json, text/plain, */*"},
                              {"accept-language", "en-US,en;q=0.9"},
                              {"x-request-id", "7f3a9c21-4b1e-4d2a-9f0e-1c2b3a4d5e6f"},
                              {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace

int main() {
  const meshtap::LabelSecretPolicy policy = meshtap::DefaultLabelSecretPolicy();
  struct Case {
    const char* name;
    std::string path;
    std::string head;
  };
  const std::string q = "/api/v1/items?page=2&sort=desc&q=shoes";
  const std::string t = "/api/v1/items?page=2&access_token=s3cr3t-t0ken-abcdef";
  std::vector<Case> cases = {
      {"no-query", "/api/v1/items", Head("/api/v1/items", "")},
      {"query", q, Head(q, "")},
      {"query+referer", q, Head(q, "Referer: https://shop.example/list?page=1&sort=desc\r\n")},
      {"secret-query", t, Head(t, "")},
  };
  constexpr int kIters = 400000;
  size_t sink = 0;
  for (const auto& c : cases) {
    for (int i = 0; i < 20000; i++) sink += Show(policy, c.head, "shop.example", c.path).path.size();  // warm
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kIters; i++) sink += Show(policy, c.head, "shop.example", c.path).path.size();
    const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kIters;
    std::printf("%-14s %7.1f ns/request  (%s)\n", c.name, ns, Show(policy, c.head, "shop.example", c.path).path.c_str());
  }
  struct H2Case {
    const char* name;
    std::string path;
    std::vector<H2Field> fields;
  };
  std::vector<H2Case> h2 = {
      {"h2 no-query", "/api/v1/items", H2Fields("/api/v1/items", {})},
      {"h2 query", q, H2Fields(q, {})},
      {"h2 query+ref", q, H2Fields(q, {{"referer", "https://shop.example/list?page=1&sort=desc"}})},
      {"h2 secret-q", t, H2Fields(t, {})},
  };
  for (const auto& c : h2) {
    for (int i = 0; i < 20000; i++) sink += ShowH2(policy, "shop.example", c.path, c.fields).path.size();  // warm
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kIters; i++) sink += ShowH2(policy, "shop.example", c.path, c.fields).path.size();
    const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kIters;
    std::printf("%-14s %7.1f ns/request  (%s)\n", c.name, ns, ShowH2(policy, "shop.example", c.path, c.fields).path.c_str());
  }
  return sink == 0 ? 1 : 0;
}
