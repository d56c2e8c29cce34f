// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. DatagramReceiver is the other
// end, for tests only (Node has no unix datagram sockets): it plays systemd's notify socket.
#include "errors.h"

#include <errno.h>
#include <poll.h>
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

class DatagramReceiver : public Napi::ObjectWrap<DatagramReceiver> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DatagramReceiver",
                       {InstanceMethod("recv", &DatagramReceiver::Recv),
                        InstanceMethod("close", &DatagramReceiver::Close)});
  }

  explicit DatagramReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatagramReceiver>(info) {
    Napi::Env env = info.Env();
    path_ = StringArg(info, 0, "path");
    struct sockaddr_un addr;
    socklen_t len = UnixAddress(path_, &addr);
    if (len == 0) throw SysError(env, "bind", path_, ENAMETOOLONG);
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ == -1) throw SysError(env, "socket", path_, errno);
    if (bind(fd_, reinterpret_cast<struct sockaddr*>(&addr), len) == -1) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      throw SysError(env, "bind", path_, err);
    }
  }

  ~DatagramReceiver() override {
    if (fd_ != -1) close(fd_);
  }

 private:
  // recv(timeoutMs): the next datagram's text, or null when none arrived in time.
  Napi::Value Recv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "timeoutMs must be a number");
    if (fd_ == -1) throw SysError(env, "recv", path_, EBADF);
    struct pollfd p = {fd_, POLLIN, 0};
    int rc;
    do rc = poll(&p, 1, info[0].As<Napi::Number>().Int32Value());
    while (rc == -1 && errno == EINTR);
    if (rc == -1) throw SysError(env, "poll", path_, errno);
    if (rc == 0) return env.Null();
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == -1) throw SysError(env, "recv", path_, errno);
    return Napi::String::New(env, buf, static_cast<size_t>(n));
  }

  void Close(const Napi::CallbackInfo&) {
    if (fd_ != -1) close(fd_);
    fd_ = -1;
  }

  std::string path_;
  int fd_ = -1;
};

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("DatagramReceiver", DatagramReceiver::Define(env));
}

}  // namespace srs
