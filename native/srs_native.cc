// srs native addon: only what Node cannot do (see src/native.ts for the typed API).
#include "errors.h"

#include <errno.h>
#include <string.h>

namespace srs {

const char* ErrnoName(int err, bool wouldblock) {
  if (wouldblock && err == EWOULDBLOCK) return "EWOULDBLOCK";
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "EUNKNOWN";
}

Napi::Error SysError(Napi::Env env, const char* syscall, const std::string& arg, int err,
                     bool wouldblock) {
  const char* code = ErrnoName(err, wouldblock);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + "(" + arg + "): " + code);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must not contain NUL");
  return s;
}

int FdArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != static_cast<int>(d) || d < 0)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a file descriptor");
  return static_cast<int>(d);
}

}  // namespace srs

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  srs::InitDaemonize(env, exports);
  srs::InitFd(env, exports);
  srs::InitNotify(env, exports);
  srs::InitInotify(env, exports);
  return exports;
}

NODE_API_MODULE(srs_native, Init)
