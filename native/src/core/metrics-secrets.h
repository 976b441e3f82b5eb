// SPDX-License-Identifier: Apache-2.0
// Metric labels made from a request show what its `req` tap event shows a viewer revealed
// nothing (proxy/metric-labels.ts `shownRequest`): URL credentials redacted, and the request's
// hidden values (a sensitive header's secret parts, secret-named query parameters' values)
// scrubbed from the authority and the path the route is made from, in every spelling (review10's
// pass). A port, rule for rule, of tap-protocol/redact.ts, redact-query.ts, redact-values.ts and
// redact-event.ts's collection, on
// UTF-8 where JS has UTF-16: every decision looks at ASCII, lengths that are compared count
// UTF-16 code units, Buffer's base64 and utf8 decoding and JS's trim, encodeURIComponent and
// decodeURIComponent are reproduced. test/native-metric-secrets.test.ts holds both to one answer.
//
// One known difference: a percent-encoded query parameter name is lower-cased by JS's full
// Unicode toLowerCase; here ASCII letters, Latin-1 letters and the Kelvin sign are folded, so a
// configured non-ASCII secret name outside Latin-1 sent in another case is not recognised here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshtap {

// What is secret on this sidecar (the tap hub's policy; metric-labels.ts LabelSecrets).
struct LabelSecretPolicy {
  std::vector<std::string> sensitive;    // lower-case header names
  std::vector<std::string> query_names;  // lower-case query parameter names
};

// DEFAULT_SENSITIVE_HEADERS and DEFAULT_SECRET_QUERY_PARAMS (the sidecar always passes its own).
LabelSecretPolicy DefaultLabelSecretPolicy();

// One request header as the event shows it: name as sent, value decoded (h1-text.h DecodeFieldText).
using LabelField = std::pair<std::string_view, std::string_view>;

struct ShownRequest {
  std::string authority;
  std::string path;
};

// `authority` and `path` as the request's `req` event shows them (metric-labels.ts shownRequest).
ShownRequest ShowRequest(const LabelSecretPolicy& policy, std::string_view authority, std::string_view path, const std::vector<LabelField>& headers);

// Whether an HTTP/1 request head may hold a hidden value: a sensitive header, or a secret-named
// query parameter (a name that needs decoding counts) in the target or a field value. When not,
// ShowRequest would find nothing hidden. (metric-labels.ts mayHideValues asks less: any `?`.)
bool MayHideValues(const std::string& head, const LabelSecretPolicy& policy);

bool IsSensitiveName(std::string_view name, const LabelSecretPolicy& policy);
// Whether `text` may hold a secret-named query (or fragment) parameter with a value:
// redactQuerySecrets' walk, each name decided without decoding (one that needs decoding, a `%`,
// `+` or non-ASCII byte in it, counts). When not, QuerySecrets finds nothing in it.
bool MayHoldSecretQuery(std::string_view text, const LabelSecretPolicy& policy);

// MayHideValues's test for a request whose fields are already apart (HTTP/2: `fields` holds
// elements with `name` and `value`, as events show them): a field named as a sensitive header,
// or a secret-named parameter in the authority, the path or a value. When not, ShowRequest would
// find nothing hidden. (Any `?` or `%3` used to count, as it still does in the js engine.)
#define MESHTAP_HAS_MAY_HIDE_FIELD_VALUES 1
template <typename FieldList>
bool MayHideFieldValues(const LabelSecretPolicy& policy, std::string_view authority, std::string_view path, const FieldList& fields) {
  if (MayHoldSecretQuery(authority, policy) || MayHoldSecretQuery(path, policy)) return true;
  for (const auto& f : fields) {
    if (IsSensitiveName(f.name, policy)) return true;
    // `:path` and `:authority` repeat the path and the authority (their answer is known).
    const std::string_view value(f.value);
    if (value != path && value != authority && MayHoldSecretQuery(value, policy)) return true;
  }
  return false;
}

// The field lines of an HTTP/1 head (latin1 octets, validated), values decoded as events show them.
void H1HeadFields(const std::string& head, std::vector<std::string>* storage, std::vector<LabelField>* out);

// Exposed for the tests that hold these to the TypeScript originals.
std::string RedactUrlCredentials(std::string_view value);
// The hidden values of a request (collectSecrets with nothing revealed), longest first.
// *found: whether anything was hidden at all (else NOTHING_HIDDEN).
std::vector<std::string> CollectRequestSecrets(const LabelSecretPolicy& policy, std::string_view path, const std::vector<LabelField>& headers, bool* found);
// Buffer.from(s, 'base64').toString('utf8').
std::string NodeBase64ToUtf8(std::string_view s);
std::string EncodeUriComponent(std::string_view s);
// decodeURIComponent; false where JS throws URIError.
bool DecodeUriComponent(std::string_view s, std::string* out);

}  // namespace meshtap
