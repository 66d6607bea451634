# ngx_vpt_module: build against Debian's nginx-dev SDK, test, demo, bench.
#
#   make            the module: build/ngx_http_vpt_module.so
#   make test       installs what is missing (tools/install-deps --test), then
#                   C unit tests of the core and the nginx integration tests
#   make demo       installs what is missing, starts Redis and nginx, prints URLs
#   make demo-stop
#   make tools      the operators' tools: build/tools/vpt-*
#   make bench      ranker micro-benchmark and the nginx throughput benchmark
#   make deb        Debian packages (debian/) into build/deb/
#   make bench-bin  the benchmarks' binaries: build/bench/*
#   make fault      fault injection under load (bench/fault-inject)
#
# Layout: src/ the module (vpt_* the pure core, ngx_* the nginx glue);
# tools/ what operators run (vpt-*), tools/lib/ the tools' shared library;
# bench/ benchmarks and fault injection; t/ the tests.

SHELL      := /bin/bash
NGINX_SRC  ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
BUILD      := build
MODULE     := $(BUILD)/ngx_http_vpt_module.so

CORE_SRCS  := $(wildcard src/vpt_*.c)
CORE_HDRS  := $(wildcard src/vpt_*.h)
GLUE_SRCS  := ngx_vpt_module.c $(wildcard src/ngx_*.c) $(wildcard src/ngx_*.h)

CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Werror
CORE_LIBS  := -lpcre2-8 -ljansson -lcrypto -lm
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer

UNIT_SRCS  := $(wildcard t/unit/test_*.c)
UNIT_HDRS  := $(wildcard t/unit/*.h)
UNIT_BINS  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS)) \
              $(BUILD)/unit/test_splice_sse2 $(BUILD)/unit/test_splice_plain \
              $(BUILD)/unit/test_splice_set_sse2 \
              $(BUILD)/unit/test_splice_set_plain \
              $(BUILD)/unit/test_scan_sse2 $(BUILD)/unit/test_scan_plain
TOOLS      := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/vpt-*.c))
TOOLS_LIB  := $(wildcard tools/lib/vpt_tools*.c)
TOOLS_HDRS := $(wildcard tools/lib/*.h)

.PHONY: all module unit integration test tools demo demo-stop bench \
        bench-bin fault clean deps deb

all: module tools bench-bin

deps:
	./tools/install-deps

module: $(MODULE)

# config takes every file of src/, and nginx's configure lists them in
# objs/Makefile: a file added or removed must configure again.  The list
# is rewritten only when it changes, so its date says when it did.
SRC_LIST   := $(BUILD)/src.list
$(shell mkdir -p $(BUILD) && ls src/*.c src/*.h \
    | cmp -s - $(SRC_LIST) || ls src/*.c src/*.h > $(SRC_LIST))

# nginx's configure writes into the tree it runs in: work on a copy.
$(BUILD)/nginx/objs/Makefile: config $(SRC_LIST)
	rm -rf $(BUILD)/nginx
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && source ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" \
	       --add-dynamic-module=$(CURDIR) > configure.log \
	    || { tail -20 configure.log; exit 1; }

$(MODULE): $(BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	@# a new inode: an nginx running the old module must not see it change
	cp $(BUILD)/nginx/objs/ngx_http_vpt_module.so $@.tmp
	mv -f $@.tmp $@

# The core's objects, compiled once for every test and tool that links
# them: plain for the tools, with sanitizers for the unit tests.
CORE_OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
CORE_OBJS_SAN := $(patsubst src/%.c,$(BUILD)/obj-san/%.o,$(CORE_SRCS))
TOOLS_OBJS    := $(patsubst tools/lib/%.c,$(BUILD)/obj/tools/%.o,$(TOOLS_LIB))

# objects are kept between runs, not removed as intermediates
.SECONDARY: $(CORE_OBJS) $(CORE_OBJS_SAN) $(TOOLS_OBJS)

$(BUILD)/obj/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -c -o $@ $<

$(BUILD)/obj-san/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SAN) -Isrc -c -o $@ $<

$(BUILD)/obj/tools/%.o: tools/lib/%.c $(TOOLS_HDRS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -Itools/lib -c -o $@ $<

# the core, built for tests with sanitizers
$(BUILD)/unit/%: t/unit/%.c $(CORE_OBJS_SAN) $(CORE_HDRS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SAN) -Isrc -It/unit -o $@ $< \
	    $(CORE_OBJS_SAN) $(CORE_LIBS)

# the splicer's and the scanner's tests again as CPUs without AVX2 run
# them, and as other architectures do (no SSE2: memchr, word-at-a-time
# searches, the scanner's scalar classifier)
$(BUILD)/unit/%_sse2: t/unit/%.c $(CORE_SRCS) $(CORE_HDRS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SAN) -DVPT_NO_AVX2 -Isrc -It/unit -o $@ $< \
	    $(CORE_SRCS) $(CORE_LIBS)

$(BUILD)/unit/%_plain: t/unit/%.c $(CORE_SRCS) $(CORE_HDRS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SAN) -U__SSE2__ -DVPT_NO_AVX2 -Isrc -It/unit \
	    -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; $$t; done

# each tool with the library they share (tools/lib/) and the core
$(BUILD)/tools/%: tools/%.c $(TOOLS_OBJS) $(CORE_OBJS) $(TOOLS_HDRS) \
              $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -Itools/lib -o $@ $< $(TOOLS_OBJS) \
	    $(CORE_OBJS) $(CORE_LIBS) -lz

# vpt-forget talks to Redis itself (hiredis's synchronous API: fine in a
# tool, never in nginx)
$(BUILD)/tools/vpt-forget: tools/vpt-forget.c $(TOOLS_OBJS) $(CORE_OBJS) \
                           $(TOOLS_HDRS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -Itools/lib -o $@ $< $(TOOLS_OBJS) \
	    $(CORE_OBJS) $(CORE_LIBS) -lz -lhiredis

# the request context's and the signer's cost per call, for the README
$(BUILD)/bench/bench-reqctx: bench/bench-reqctx.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

bench-bin: $(BUILD)/bench/bench-reqctx

tools: $(TOOLS)

# the splicer alone, for README's figures: build/bench/bench-splice
$(BUILD)/bench/bench-splice: bench/bench-splice.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

bench-bin: $(BUILD)/bench/bench-splice $(BUILD)/bench/fault-inject-load

integration: module tools
	prove t/

# a fresh machine has none of the packages: install them before compiling
# (quick when everything is there), then test
test:
	./tools/install-deps --test
	$(MAKE) unit integration

# dpkg-buildpackage writes its packages next to the tree it builds: build
# in a copy under build/deb/src, so they land in build/deb/ and the
# developer's build/ (excluded from the copy) is never rebuilt or cleaned.
deb:
	./tools/install-deps --deb
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/src
	tar --exclude=./build --exclude='./build-*' --exclude=./.git -cf - . \
	    | tar -xf - -C $(BUILD)/deb/src
	cd $(BUILD)/deb/src && dpkg-buildpackage -b -us -uc > ../build.log 2>&1 \
	    || { tail -30 ../build.log; exit 1; }
	rm -rf $(BUILD)/deb/src
	@ls $(BUILD)/deb/*.deb

demo: deps module tools
	./tools/vpt-demo start

demo-stop:
	./tools/vpt-demo stop

bench: module tools bench-bin
	./bench/bench-rank
	./bench/bench-nginx

# --- Fuzzing (README: "Fuzzing") -------------------------------------------
# Every t/fuzz/fuzz_*.c for FUZZ_SECONDS each: with libFuzzer when clang has
# it, else the gcc fallback (seeds plus seeded mutations); FUZZ_ENGINE=
# libfuzzer or fallback forces one.  Any crash or broken invariant fails.
FUZZ_SECONDS ?= 60
FUZZ_ENGINE  ?= auto

.PHONY: fuzz fuzz-smoke fuzz-fallback

fuzz:
	FUZZ_ENGINE=$(FUZZ_ENGINE) t/fuzz/run $(FUZZ_SECONDS)

# for CI: 10 seconds a target
fuzz-smoke:
	FUZZ_ENGINE=$(FUZZ_ENGINE) t/fuzz/run 10

fuzz-fallback:
	FUZZ_ENGINE=fallback t/fuzz/run $(FUZZ_SECONDS)

# fault injection under load (bench/fault-inject); its load generator needs
# no core.  make fault FAULT_ARGS=--quick
$(BUILD)/bench/fault-inject-load: bench/fault-inject-load.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

fault: module $(BUILD)/bench/fault-inject-load
	./bench/fault-inject $(FAULT_ARGS)

# --- Sanitizers and leak checks (README: "Sanitizers and leak checks") -----
# Own build directories: build/ is never touched (the tests still run the
# tools from build/tools, uninstrumented).  $(call vpt_sdk,DIR,CC,CC-OPT,
# LD-OPT) configures a copy of the SDK in DIR/nginx with the distro's
# flags plus these.
#
# The ASan module is built with clang: one runtime holds ASan, LSan and
# UBSan.  GCC's libasan and libubsan, both preloaded into an uninstrumented
# nginx, interpose each other's state (UBSan's reports go to stderr, LSan's
# options are lost after it).  -shared-libsan names the runtime as a
# dependency, the run path lets ldd find it (t/asan/nginx preloads it);
# -z nodelete keeps the module mapped after nginx's dlclose() at exit, so
# LSan's reports, made at exit, can still name our frames.
ASAN_CC     ?= clang
vpt_comma   := ,
ASAN_BUILD  := build-asan
ASAN_MODULE := $(ASAN_BUILD)/ngx_http_vpt_module.so
ASAN_UNITS  := $(patsubst t/unit/%.c,$(ASAN_BUILD)/unit/%,$(UNIT_SRCS))
ASAN_RTDIR   = $(shell $(ASAN_CC) -print-resource-dir)/lib/linux
# the module's ngx_modules and ngx_module_names share their names with
# nginx's exported ones: without private aliases ASan would put its
# redzones after nginx's arrays (a false global-buffer-overflow on reload)
ASAN_CFLAGS := -O1 -g $(SAN) -fsanitize-address-use-odr-indicator
VG_BUILD    := build-valgrind
VG_MODULE   := $(VG_BUILD)/ngx_http_vpt_module.so

.PHONY: module-asan test-asan module-valgrind test-valgrind

define vpt_sdk
	rm -rf $(1)/nginx
	mkdir -p $(1)
	echo "*" > $(1)/.gitignore
	cp -r $(NGINX_SRC) $(1)/nginx
	cd $(1)/nginx && source ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc='$(2)' \
	       --with-cc-opt='$(3)' --with-ld-opt='$(4)' \
	       --add-dynamic-module=$(CURDIR) \
	       > configure.log || { tail -20 configure.log; exit 1; }
endef

define vpt_sdk_module
	$(MAKE) -s -C $(1)/nginx -f objs/Makefile modules
	cp $(1)/nginx/objs/ngx_http_vpt_module.so $(1)/ngx_http_vpt_module.so.tmp
	mv -f $(1)/ngx_http_vpt_module.so.tmp $(1)/ngx_http_vpt_module.so
endef

$(ASAN_BUILD)/nginx/objs/Makefile: config Makefile $(SRC_LIST)
	$(call vpt_sdk,$(ASAN_BUILD),$(ASAN_CC),$(ASAN_CFLAGS),\
	    $(SAN) -shared-libsan -Wl$(vpt_comma)-z$(vpt_comma)nodelete \
	    -Wl$(vpt_comma)-rpath$(vpt_comma)$(ASAN_RTDIR))

$(ASAN_MODULE): $(ASAN_BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) \
              $(GLUE_SRCS)
	$(call vpt_sdk_module,$(ASAN_BUILD))

ASAN_OBJS   := $(patsubst src/%.c,$(ASAN_BUILD)/obj/%.o,$(CORE_SRCS))

.SECONDARY: $(ASAN_OBJS)

$(ASAN_BUILD)/obj/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(CFLAGS) $(WARN) $(SAN) -Isrc -c -o $@ $<

$(ASAN_BUILD)/unit/%: t/unit/%.c $(ASAN_OBJS) $(CORE_HDRS) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(CFLAGS) $(WARN) $(SAN) -Isrc -It/unit -o $@ $< \
	    $(ASAN_OBJS) $(CORE_LIBS)

module-asan: $(ASAN_MODULE)

# unit tests and the whole integration suite with the ASan+UBSan module
# preloaded into the distro nginx; any sanitizer report or crash fails
test-asan: $(ASAN_MODULE) $(ASAN_UNITS) tools
	t/asan/run $(ASAN_MODULE) $(ASAN_UNITS)

$(VG_BUILD)/nginx/objs/Makefile: config Makefile $(SRC_LIST)
	$(call vpt_sdk,$(VG_BUILD),$(CC),-O1 -g,)

$(VG_MODULE): $(VG_BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) \
            $(GLUE_SRCS)
	$(call vpt_sdk_module,$(VG_BUILD))

module-valgrind: $(VG_MODULE)

# nginx (master_process off) under valgrind --leak-check=full, every path,
# a reload, a clean stop; definite/indirect leaks in our stacks fail
test-valgrind: $(VG_MODULE)
	t/valgrind/run $(VG_MODULE)

clean:
	rm -rf $(BUILD)
