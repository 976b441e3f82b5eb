// SPDX-License-Identifier: Apache-2.0
// dropColdPages(): gives back what the sidecar's start-up left resident and will not use again
// (issue 14: the native sidecar's RSS ≤ 60 MB under load).
//
// Measured (docs/decisions.md, "The native sidecar's memory, session 9"): of the untapped native
// sidecar's ~57 MB under load, ~43 MB are pages of the node executable (/usr/bin/node, ~95 MB
// file), mapped read-only: V8's builtins, the bootstrap, the module loader, ICU, the symbol
// tables dlopen walked for the addon. Most were touched once, while node started and compiled
// our modules, and never again; the kernel keeps them mapped until memory is short. Dropped, the
// forwarding sidecar faults back ~10 MB of them under load.
//
// Only mappings of the executable that are read-only (r-xp, r--p) and hold no anonymous page are
// dropped: such a mapping is exactly the file's bytes (the page cache keeps them), so
// MADV_DONTNEED only unmaps them and a later access maps them again from the page cache (a minor
// fault). A read-only mapping written before it was protected (RELRO: relocations) holds
// anonymous copies and is never touched: dropping those would bring back unrelocated bytes.
//
// malloc_trim(0) then returns the free pages inside glibc's arenas (the JS thread's and each
// worker's): memory freed by a tap's bodies or a burst stays in the arena otherwise.
#include "addon.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace meshtap {

namespace {

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool candidate = false;  // the executable's, read-only
  size_t rss_kb = 0;
  size_t anon_kb = 0;
};

// The executable's read-only mappings from /proc/self/smaps, with their resident and anonymous kB.
std::vector<Mapping> ExecutableMappings() {
  std::vector<Mapping> out;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return out;
  exe[n] = '\0';
  FILE* f = fopen("/proc/self/smaps", "re");
  if (f == nullptr) return out;
  char* line = nullptr;
  size_t cap = 0;
  Mapping cur;
  bool have = false;
  while (getline(&line, &cap, f) > 0) {
    unsigned long start = 0, end = 0;
    char perms[8] = {0};
    int path_at = 0;
    // A mapping's header: "start-end perms offset dev inode [path]"; field lines start with a name.
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) >= 3 && path_at > 0) {
      if (have && cur.candidate) out.push_back(cur);
      cur = Mapping{};
      have = true;
      cur.start = start;
      cur.end = end;
      std::string path(line + path_at);
      while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
      cur.candidate = path == exe && (strcmp(perms, "r-xp") == 0 || strcmp(perms, "r--p") == 0);
      continue;
    }
    if (strncmp(line, "Rss:", 4) == 0) cur.rss_kb = strtoul(line + 4, nullptr, 10);
    else if (strncmp(line, "Anonymous:", 10) == 0) cur.anon_kb = strtoul(line + 10, nullptr, 10);
  }
  if (have && cur.candidate) out.push_back(cur);
  free(line);
  fclose(f);
  return out;
}

Napi::Value DropColdPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double dropped = 0;
  for (const Mapping& m : ExecutableMappings()) {
    if (m.anon_kb != 0 || m.rss_kb == 0) continue;
    if (madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) == 0) dropped += static_cast<double>(m.rss_kb) * 1024;
  }
  bool trimmed = malloc_trim(0) != 0;
  Napi::Object out = Napi::Object::New(env);
  out.Set("executableBytes", Napi::Number::New(env, dropped));
  out.Set("mallocTrimmed", Napi::Boolean::New(env, trimmed));
  return out;
}

}  // namespace

void InitMemoryTrim(Napi::Env env, Napi::Object exports) {
  exports.Set("dropColdPages", Napi::Function::New(env, DropColdPages, "dropColdPages"));
}

}  // namespace meshtap
