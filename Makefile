# ngx_vpt_module: build against Debian's nginx-dev SDK, test, demo, bench.
#
#   make            the module: build/ngx_http_vpt_module.so
#   make test       C unit tests of the core, then the nginx integration tests
#   make demo       installs what is missing, starts Redis and nginx, prints URLs
#   make demo-stop
#   make bench      ranker micro-benchmark and the nginx throughput benchmark
#   make fault      fault injection under load (tools/fault-inject)

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
CORE_LIBS  := -lpcre2-8 -ljansson -lm
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer

UNIT_SRCS  := $(wildcard t/unit/test_*.c)
UNIT_BINS  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
TOOLS      := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/vpt-*.c))

.PHONY: all module unit integration test tools demo demo-stop bench fault \
        clean deps

all: module tools

deps:
	./tools/install-deps

module: $(MODULE)

# nginx's configure writes into the tree it runs in: work on a copy.
$(BUILD)/nginx/objs/Makefile: config
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

# the core, built for tests with sanitizers
$(BUILD)/unit/%: t/unit/%.c $(CORE_SRCS) $(CORE_HDRS) t/unit/vpt_test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SAN) -Isrc -It/unit -o $@ $< $(CORE_SRCS) \
	    $(CORE_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; $$t; done

# each tool with the helpers they share (tools/vpt_tools*.c) and the core
$(BUILD)/tools/%: tools/%.c $(wildcard tools/vpt_tools*.c) $(CORE_SRCS) \
              $(CORE_HDRS) $(wildcard tools/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Isrc -Itools -o $@ $< \
	    $(wildcard tools/vpt_tools*.c) $(CORE_SRCS) $(CORE_LIBS) -lz

tools: $(TOOLS)

integration: module tools
	prove t/

test: unit integration

demo: deps module tools
	./tools/vpt-demo start

demo-stop:
	./tools/vpt-demo stop

bench: module tools
	./tools/bench-rank
	./tools/bench-nginx

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

# fault injection under load (tools/fault-inject); its load generator needs
# no core.  make fault FAULT_ARGS=--quick
$(BUILD)/tools/fault-inject-load: tools/fault-inject-load.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

fault: module $(BUILD)/tools/fault-inject-load
	./tools/fault-inject $(FAULT_ARGS)

clean:
	rm -rf $(BUILD)
