// SPDX-License-Identifier: Apache-2.0
// How header values and request targets read in events, as proxy/field-text.ts says (one rule
// for both engines): ASCII as is, valid UTF-8 as UTF-8, any other byte escaped (`%HH` in
// targets, `\xHH` in values). And where a request goes (proxy/http1/request-target.ts).
#pragma once

#include <string>

namespace meshtap {

enum class EscapeStyle { kPercent, kBackslash };

// Decodes latin1 octets by the rule above; the result is UTF-8.
std::string DecodeFieldText(const std::string& octets, EscapeStyle style);

// Scheme and authority of a request from its method, decoded request-target and decoded Host.
void ResolveRequestTarget(const std::string& method, const std::string& target, const std::string& host, std::string* scheme,
                          std::string* authority);

}  // namespace meshtap
