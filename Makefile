# srs: build, test, install.
#   make                                   npm ci when node_modules is missing or stale, then build
#   make test                              npm test
#   make install [PREFIX=/usr/local/srs] [DESTDIR=]
#   make uninstall [PREFIX=...] [DESTDIR=] removes exactly what make install put there
#
# The installed tree is self-contained and runs from PREFIX as SRS's does
# (cd PREFIX && ./objs/srs -c conf/srs.conf): objs/srs, dist/, build/Release/srs_native.node,
# production node_modules, package.json, conf/, etc/, usr/, objs/nginx/html. Every file naming
# the root gets PREFIX written into it (below). DESTDIR is a staging root
# for packagers: files land in $(DESTDIR)$(PREFIX) but name PREFIX.
#
# $(PREFIX)/.install-manifest lists every file and directory install put there; uninstall removes
# those, and the pid file and records a stopped server left in objs/; logs are left and listed.

PREFIX ?= /usr/local/srs
DESTDIR ?=
NPM ?= npm

TARGET := $(DESTDIR)$(PREFIX)
MANIFEST := .install-manifest
# one staging dir per make process, so concurrent installs do not mix
STAGE := objs/.install-stage-$(shell echo $$PPID)
TS_SOURCES := $(shell find src -name '*.ts') tsconfig.json
NATIVE_SOURCES := $(wildcard native/*.cc native/*.h) binding.gyp
# Every installed text file that names the install root has /usr/local/srs replaced by $(PREFIX)
# (init.d, logrotate, the systemd unit, supervisor, daemontools, runit and upstart files, the
# sample configs' comments), but for the files that describe the container image, whose root is
# /usr/local/srs whatever PREFIX the host uses: the Kubernetes manifest.
IMAGE_FILES := etc/kubernetes/srs.yaml
# What a server leaves next to its pid file (reload and upgrade records, the `.oldbin` of an
# upgrade, temp files of an atomic write): uninstall removes them with the tree.
RECORDS := objs/srs.pid objs/srs.pid.reload objs/srs.pid.upgrade objs/srs.pid.oldbin

.PHONY: all build test install uninstall clean-stage
.DELETE_ON_ERROR:

all: build

build: dist/main.js build/Release/srs_native.node

# npm ci only when node_modules is missing (an order-only prerequisite: a newer package.json does
# not wipe a working tree's node_modules); it also builds the addon (install) and dist (prepare).
node_modules/.package-lock.json:
	$(NPM) ci --no-audit --no-fund

dist/main.js: $(TS_SOURCES) $(wildcard html/*) | node_modules/.package-lock.json
	$(NPM) run build
	@touch $@

build/Release/srs_native.node: $(NATIVE_SOURCES) | node_modules/.package-lock.json
	npx --no-install node-gyp rebuild
	@touch $@

test:
	$(NPM) test

# Stage the whole tree, write the manifest, then copy it in one go, so a failed step leaves
# nothing half-installed under $(TARGET).
install: build clean-stage
	mkdir -p $(STAGE)/objs/nginx $(STAGE)/build/Release
	cp -p objs/srs $(STAGE)/objs/srs
	cp -pR dist $(STAGE)/dist
	cp -p build/Release/srs_native.node $(STAGE)/build/Release/
	cp -p package.json package-lock.json $(STAGE)/
	cd $(STAGE) && $(NPM) ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund
	rm -f $(STAGE)/package-lock.json
	cp -pR conf etc usr $(STAGE)/
	cp -pR objs/nginx/html $(STAGE)/objs/nginx/html
	sed -i 's|^ROOT=""|ROOT="$(PREFIX)"|' $(STAGE)/etc/init.d/srs
	cd $(STAGE) && grep -rlIF /usr/local/srs conf etc usr | while read -r f; do \
		case " $(IMAGE_FILES) " in *" $$f "*) ;; *) sed -i 's|/usr/local/srs|$(PREFIX)|g' "$$f" ;; esac; done
	cd $(STAGE) && { find . -mindepth 1 ! -type d; find . -mindepth 1 -type d -printf '%p/\n'; } \
		| sed 's|^\./||' | LC_ALL=C sort > ../$(notdir $(STAGE)).manifest
	mv $(STAGE).manifest $(STAGE)/$(MANIFEST)
	@# Reinstalling over an older install: keep its entries, so uninstall still finds them.
	if [ -f $(TARGET)/$(MANIFEST) ]; then LC_ALL=C sort -u -o $(STAGE)/$(MANIFEST) $(STAGE)/$(MANIFEST) $(TARGET)/$(MANIFEST); fi
	mkdir -p $(TARGET)
	cp -pR $(STAGE)/. $(TARGET)/
	rm -rf $(STAGE)
	@echo "srs installed in $(TARGET): cd $(PREFIX) && ./objs/srs -c conf/srs.conf"

clean-stage:
	rm -rf $(STAGE)

uninstall:
	@[ -f $(TARGET)/$(MANIFEST) ] || { echo "no $(TARGET)/$(MANIFEST): nothing installed there by make install" >&2; exit 1; }
	cd $(TARGET) && grep -v '/$$' $(MANIFEST) | xargs -r -d '\n' rm -f --
	@# records of a server that is gone (one still running keeps its pid file locked: refuse)
	@cd $(TARGET) && if [ -f objs/srs.pid ] && ! flock -n objs/srs.pid true 2>/dev/null; then \
		echo "srs still runs from $(TARGET) (objs/srs.pid is locked): its records are left" >&2; \
	else rm -f $(RECORDS) objs/srs.pid.*.tmp objs/srs.pid.*.tmp.* objs/srs.pid.new.* objs/srs.pid.*.gone.*; fi
	cd $(TARGET) && grep '/$$' $(MANIFEST) | LC_ALL=C sort -r | xargs -r -d '\n' rmdir --ignore-fail-on-non-empty --
	rm -f $(TARGET)/$(MANIFEST)
	rmdir --ignore-fail-on-non-empty $(TARGET)
	@if [ -d $(TARGET) ]; then echo "kept in $(TARGET), not installed by make install:"; \
		cd $(TARGET) && find . -mindepth 1 ! -type d | sed 's|^\./|  |'; \
	else echo "srs uninstalled from $(TARGET)"; fi
