// inotify on Node's own event loop: inotify_init1(IN_NONBLOCK|IN_CLOEXEC) watched by a uv_poll_t;
// on readable, every queued event is read and handed to the callback in one batch.
#include "errors.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

namespace srs {

class Inotify : public Napi::ObjectWrap<Inotify> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Inotify",
                       {InstanceMethod("addWatch", &Inotify::AddWatch),
                        InstanceMethod("rmWatch", &Inotify::RmWatch),
                        InstanceMethod("close", &Inotify::Close),
                        InstanceMethod("unref", &Inotify::DoUnref)});
  }

  explicit Inotify(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Inotify>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "onEvent must be a function");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "napi_get_uv_event_loop failed");
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ == -1) throw SysError(env, "inotify_init1", "", errno);
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      Shutdown();
      throw SysError(env, "uv_poll_init", "inotify", -rc);
    }
    poll_->data = this;
    rc = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (rc != 0) {
      Shutdown();
      throw SysError(env, "uv_poll_start", "inotify", -rc);
    }
    onEvent_ = Napi::Persistent(info[0].As<Napi::Function>());
    env_ = env;
    Ref();  // a watcher that can still deliver events is not garbage
  }

  ~Inotify() override { Shutdown(); }

 private:
  // Stops polling and closes the descriptor; the handle is freed once libuv has closed it.
  void Shutdown() {
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ != -1) close(fd_);
    fd_ = -1;
  }

  static void OnReadable(uv_poll_t* handle, int status, int) {
    Inotify* self = static_cast<Inotify*>(handle->data);
    if (self != nullptr) self->Deliver(status);
  }

  void Deliver(int status) {
    Napi::HandleScope scope(env_);
    Napi::Array events = Napi::Array::New(env_);
    uint32_t count = 0;
    alignas(struct inotify_event) char buf[64 * 1024];
    while (status == 0 && fd_ != -1) {
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n == -1 && errno == EINTR) continue;
      if (n <= 0) break;  // EAGAIN: the queue is empty
      for (char* p = buf; p < buf + n;) {
        struct inotify_event* ev = reinterpret_cast<struct inotify_event*>(p);
        Napi::Object o = Napi::Object::New(env_);
        o.Set("wd", Napi::Number::New(env_, ev->wd));
        o.Set("mask", Napi::Number::New(env_, ev->mask));
        o.Set("cookie", Napi::Number::New(env_, ev->cookie));
        o.Set("name", Napi::String::New(env_, ev->len > 0 ? ev->name : ""));
        events.Set(count++, o);
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
    if (count == 0) return;
    try {
      onEvent_.MakeCallback(Value(), {events});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env_, e.Value());  // an exception in the callback is uncaught
    }
  }

  Napi::Value AddWatch(const Napi::CallbackInfo& info) {
    std::string path = StringArg(info, 0, "path");
    if (!info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "mask must be a number");
    int wd = inotify_add_watch(fd_, path.c_str(), info[1].As<Napi::Number>().Uint32Value());
    if (wd == -1) throw SysError(info.Env(), "inotify_add_watch", path, errno);
    return Napi::Number::New(info.Env(), wd);
  }

  void RmWatch(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "wd must be a number");
    int wd = info[0].As<Napi::Number>().Int32Value();
    if (inotify_rm_watch(fd_, wd) == -1) throw SysError(info.Env(), "inotify_rm_watch", std::to_string(wd), errno);
  }

  void Close(const Napi::CallbackInfo&) {
    if (fd_ == -1) return;
    Shutdown();
    onEvent_.Reset();
    Unref();
  }

  void DoUnref(const Napi::CallbackInfo&) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  Napi::Env env_ = nullptr;
  Napi::FunctionReference onEvent_;
  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
};

void InitInotify(Napi::Env env, Napi::Object exports) {
  exports.Set("Inotify", Inotify::Define(env));
  // only the bits src/lifecycle/watch.ts uses
  static const struct { const char* name; uint32_t value; } constants[] = {
      {"IN_MODIFY", IN_MODIFY},           {"IN_ATTRIB", IN_ATTRIB},
      {"IN_CLOSE_WRITE", IN_CLOSE_WRITE}, {"IN_MOVED_FROM", IN_MOVED_FROM},
      {"IN_MOVED_TO", IN_MOVED_TO},       {"IN_CREATE", IN_CREATE},
      {"IN_DELETE", IN_DELETE},           {"IN_DELETE_SELF", IN_DELETE_SELF},
      {"IN_MOVE_SELF", IN_MOVE_SELF},     {"IN_UNMOUNT", IN_UNMOUNT},
      {"IN_Q_OVERFLOW", IN_Q_OVERFLOW},   {"IN_IGNORED", IN_IGNORED},
      {"IN_MASK_ADD", IN_MASK_ADD},       {"IN_ISDIR", IN_ISDIR},
  };
  for (const auto& c : constants) exports.Set(c.name, Napi::Number::New(env, c.value));
}

}  // namespace srs
