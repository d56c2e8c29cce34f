// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
#include "errors.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace srs {

// Fills addr from "path" or "@abstract"; returns the address length, or 0 if the path is too long.
static socklen_t UnixAddress(const std::string& path, struct sockaddr_un* addr) {
  bool abstract = !path.empty() && path[0] == '@';
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() > sizeof(addr->sun_path) - (abstract ? 0 : 1)) return 0;
  memcpy(addr->sun_path, path.data(), path.size());
  if (abstract) addr->sun_path[0] = '\0';  // abstract: the length counts no terminating NUL
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
}

// sdNotify(socketPath, message)
static void SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "socketPath");
  std::string message = StringArg(info, 1, "message");
  struct sockaddr_un addr;
  socklen_t len = UnixAddress(path, &addr);
  if (len == 0) throw SysError(env, "sendto", path, ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd == -1) throw SysError(env, "socket", path, errno);
  ssize_t n;
  do n = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<struct sockaddr*>(&addr), len);
  while (n == -1 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n == -1) throw SysError(env, "sendto", path, err);
}

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

}  // namespace srs
