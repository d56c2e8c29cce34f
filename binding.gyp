{
  "targets": [
    {
      "target_name": "srs_native",
      "sources": [
        "native/srs_native.cc",
        "native/daemonize.cc",
        "native/fd.cc",
        "native/notify.cc",
        "native/inotify.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-Wall", "-Wextra"],
      "cflags_cc": ["-Wall", "-Wextra", "-fexceptions"]
    }
  ]
}
