# srs container image. Build: docker build -t srs .    Run: docker run --rm -p 1935:1935 -p 1985:1985 -p 8080:8080 srs
# Stop: docker stop -t 40 <container>  (conf/docker.conf has force_grace_quit on, so docker's
# SIGTERM is a graceful quit: readiness 503, 2.3 s accepting, drain, 3.2 s; docker's default
# 10 s before SIGKILL is too short for a drain, hence -t).
# Reload: docker kill -s HUP <container>, or edit a mounted config (inotify reload is on).
# Tested without an engine: scripts/build-image-rootfs.js builds the runtime stage below as a
# directory tree, directive by directive (it refuses one it does not know: teach it, so the two
# stay in step), and test/ship/image.test.js runs it under systemd-nspawn with CMD as PID 1.

# Build stage: the native addon needs a compiler and python for node-gyp.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
COPY scripts ./scripts
COPY tsconfig.json ./
COPY src ./src
COPY html ./html
COPY objs/srs ./objs/srs
COPY conf ./conf
COPY etc ./etc
COPY usr ./usr
COPY Makefile ./
# npm ci builds the addon (install script) and dist/ (prepare); make install lays out
# /usr/local/srs with production node_modules only.
RUN npm ci --no-audit --no-fund && make install DESTDIR=/out PREFIX=/usr/local/srs

# Runtime: node 20 on Debian slim; the addon only needs libc and libstdc++, which it has.
FROM node:20-bookworm-slim
COPY --from=build /out/usr/local/srs /usr/local/srs
WORKDIR /usr/local/srs
# objs/ takes the pid file and the reload status; run as the image's unprivileged node user.
RUN chown -R node:node /usr/local/srs/objs
USER node
EXPOSE 1935 1985 8080
# As SRS's image does: the launcher in the foreground. srs is PID 1 here, so it stays in the
# foreground whatever `daemon` says (PID 1 and /.dockerenv are container signs), logs to stdout,
# and handles every signal itself (a PID 1 without a handler would ignore SIGTERM).
CMD ["./objs/srs", "-c", "conf/docker.conf"]
