// SPDX-License-Identifier: Apache-2.0
// Small, generic operations on pinned BPF maps and links, so that all encoding of keys
// and values stays in TypeScript (bpf/maps.ts) next to the C structs it mirrors.
#include <bpf/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "addon.h"

namespace meshtap {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Opens a pinned object; returns false when the pin does not exist.
bool OpenPinned(Napi::Env env, const std::string& path, Fd* out) {
  out->fd = bpf_obj_get(path.c_str());
  if (out->fd >= 0) return true;
  if (errno == ENOENT) return false;
  ThrowErrno(env, "bpf_obj_get(" + path + ")", errno);
}

bpf_map_info MapInfo(Napi::Env env, int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) ThrowErrno(env, "bpf_obj_get_info_by_fd", errno);
  return info;
}

void RequireSize(Napi::Env env, const Napi::Buffer<uint8_t>& buf, uint32_t want, const char* what) {
  if (buf.Length() != want)
    throw Napi::RangeError::New(env, std::string(what) + " must be " + std::to_string(want) + " bytes, got " +
                                         std::to_string(buf.Length()));
}

Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  auto value = info[2].As<Napi::Buffer<uint8_t>>();
  Fd m;
  if (!OpenPinned(env, path, &m)) ThrowErrno(env, "bpf_obj_get(" + path + ")", ENOENT);
  bpf_map_info mi = MapInfo(env, m.fd);
  RequireSize(env, key, mi.key_size, "key");
  RequireSize(env, value, mi.value_size, "value");
  if (bpf_map_update_elem(m.fd, key.Data(), value.Data(), BPF_ANY)) ThrowErrno(env, "bpf_map_update_elem", errno);
  return env.Undefined();
}

Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  Fd m;
  if (!OpenPinned(env, path, &m)) return Napi::Boolean::New(env, false);
  if (bpf_map_delete_elem(m.fd, key.Data()) == 0) return Napi::Boolean::New(env, true);
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  ThrowErrno(env, "bpf_map_delete_elem", errno);
}

Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  Fd m;
  if (!OpenPinned(env, path, &m)) return env.Undefined();
  bpf_map_info mi = MapInfo(env, m.fd);
  RequireSize(env, key, mi.key_size, "key");
  std::vector<uint8_t> value(mi.value_size);
  if (bpf_map_lookup_elem(m.fd, key.Data(), value.data())) {
    if (errno == ENOENT) return env.Undefined();
    ThrowErrno(env, "bpf_map_lookup_elem", errno);
  }
  return Napi::Buffer<uint8_t>::Copy(env, value.data(), value.size());
}

// mapKeys(path, limit): up to `limit` keys (bounded so a full map cannot flood JS).
Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  uint32_t limit = info[1].As<Napi::Number>().Uint32Value();
  Napi::Array out = Napi::Array::New(env);
  Fd m;
  if (!OpenPinned(env, path, &m)) return out;
  bpf_map_info mi = MapInfo(env, m.fd);
  std::vector<uint8_t> key(mi.key_size), next(mi.key_size);
  const void* prev = nullptr;
  uint32_t n = 0;
  while (n < limit && bpf_map_get_next_key(m.fd, prev, next.data()) == 0) {
    out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), next.size()));
    key.swap(next);
    prev = key.data();
  }
  return out;
}

// sockmapSetFromProcess(path, key, pid, fd): copies socket `fd` of process `pid` with
// pidfd_getfd(2) (needs CAP_SYS_PTRACE over it) and stores it in the SOCKMAP at `key`.
// This is how the inbound listener of an unprivileged sidecar reaches sk_lookup.
Napi::Value SockmapSetFromProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  uint32_t key = info[1].As<Napi::Number>().Uint32Value();
  int pid = info[2].As<Napi::Number>().Int32Value();
  int target_fd = info[3].As<Napi::Number>().Int32Value();
  Fd m, pidfd, sock;
  if (!OpenPinned(env, path, &m)) ThrowErrno(env, "bpf_obj_get(" + path + ")", ENOENT);
  pidfd.fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd.fd < 0) ThrowErrno(env, "pidfd_open", errno);
  sock.fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.fd, target_fd, 0));
  if (sock.fd < 0) ThrowErrno(env, "pidfd_getfd", errno);
  bpf_map_info mi = MapInfo(env, m.fd);
  uint64_t value = static_cast<uint64_t>(sock.fd);
  if (mi.value_size != 8 && mi.value_size != 4) throw Napi::Error::New(env, "not a SOCKMAP: " + path);
  if (bpf_map_update_elem(m.fd, &key, &value, BPF_ANY)) ThrowErrno(env, "bpf_map_update_elem(sockmap)", errno);
  return env.Undefined();
}

// linkInfo(path): what a pinned link is attached to, or undefined when no such pin.
// A link whose cgroup or netns is gone reports cgroupId 0 / netnsIno 0 (defunct).
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  Fd l;
  if (!OpenPinned(env, path, &l)) return env.Undefined();
  bpf_link_info li{};
  uint32_t len = sizeof li;
  if (bpf_obj_get_info_by_fd(l.fd, &li, &len)) ThrowErrno(env, "bpf_obj_get_info_by_fd(link)", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", li.id);
  out.Set("progId", li.prog_id);
  out.Set("type", li.type);
  if (li.type == BPF_LINK_TYPE_CGROUP) {
    out.Set("cgroupId", Napi::BigInt::New(env, static_cast<uint64_t>(li.cgroup.cgroup_id)));
    out.Set("attachType", li.cgroup.attach_type);
  } else if (li.type == BPF_LINK_TYPE_NETNS) {
    out.Set("netnsIno", li.netns.netns_ino);
    out.Set("attachType", li.netns.attach_type);
  }
  return out;
}

}  // namespace

void InitBpfMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete, "mapDelete"));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup, "mapLookup"));
  exports.Set("mapKeys", Napi::Function::New(env, MapKeys, "mapKeys"));
  exports.Set("sockmapSetFromProcess", Napi::Function::New(env, SockmapSetFromProcess, "sockmapSetFromProcess"));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo, "linkInfo"));
}

}  // namespace meshtap
