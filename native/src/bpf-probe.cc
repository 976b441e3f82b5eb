// SPDX-License-Identifier: Apache-2.0
// Feature probes for `meshtap check`: asks the kernel (through libbpf) whether it can
// load each program and map type meshtap uses.
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "addon.h"

namespace meshtap {
namespace {

Napi::Value ProbeFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  struct {
    const char* name;
    bpf_prog_type type;
  } progs[] = {
      {"cgroup_sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
      {"sock_ops", BPF_PROG_TYPE_SOCK_OPS},
      {"cgroup_sockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT},
      {"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP},
  };
  for (const auto& p : progs) out.Set(p.name, libbpf_probe_bpf_prog_type(p.type, nullptr) == 1);
  struct {
    const char* name;
    bpf_map_type type;
  } maps[] = {
      {"map_lru_hash", BPF_MAP_TYPE_LRU_HASH},
      {"map_lpm_trie", BPF_MAP_TYPE_LPM_TRIE},
      {"map_sockmap", BPF_MAP_TYPE_SOCKMAP},
  };
  for (const auto& m : maps) out.Set(m.name, libbpf_probe_bpf_map_type(m.type, nullptr) == 1);
  return out;
}

}  // namespace

void InitBpfProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("probeFeatures", Napi::Function::New(env, ProbeFeatures, "probeFeatures"));
}

}  // namespace meshtap
