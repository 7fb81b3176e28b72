# Front door to the Meson build: make deps | make | make check | make demo | make install | make deb | make fuzz | make bench
BUILD ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
DEB_BUILD ?= build-deb
PREFIX ?= /usr/local
DESTDIR ?=
MESON_TEST_ARGS ?=
FUZZ_SECONDS ?= 600

.PHONY: all deps build check check-unit demo install deb fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

# -Wall -Wextra (warning_level=2) with every warning an error, with gcc here and clang below.
$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) --werror

$(CLANG_BUILD)/build.ninja:
	CC=clang meson setup $(CLANG_BUILD) --prefix=$(PREFIX) --werror

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --prefix=$(PREFIX) -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Builds with gcc and clang (warnings are errors), unit tests plain and under ASan+UBSan, then
# the end-to-end tests; one closing line.
check: deps $(BUILD)/build.ninja $(CLANG_BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(CLANG_BUILD)
	ninja -C $(ASAN_BUILD)
	rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json
	-meson test -C $(BUILD) --print-errorlogs $(MESON_TEST_ARGS)
	-ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs $(MESON_TEST_ARGS)
	@scripts/test-summary.py $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json

check-unit: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --suite unit --print-errorlogs

demo: deps build
	scripts/demo.sh $(BUILD)

# libFuzzer runs of the agent's parsers (built with clang inside the normal build dir),
# FUZZ_SECONDS in total (default 10 minutes); the corpus grows in $(BUILD)/agent/fuzz.
fuzz: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	agent/fuzz/run.sh $(BUILD)/agent/fuzz $(FUZZ_SECONDS)

# The linux guest pipeline's figures beside their baselines, as ratios (docs/benchmarks.md).
bench: deps build
	bench/bench.sh $(BUILD)

install: build
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

# The Debian package (debian/) from a clean copy of the tree, without the unit suite (make
# check runs it), checked by lintian: $(DEB_BUILD)/vmcloak_VERSION_amd64.deb for apt install.
deb: deps
	rm -rf $(DEB_BUILD)
	scripts/source-copy.sh . $(DEB_BUILD)/vmcloak
	cd $(DEB_BUILD)/vmcloak && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -Pnocheck
	lintian $(DEB_BUILD)/vmcloak_*.changes
	@ls -l $(DEB_BUILD)/vmcloak_*.deb

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(DEB_BUILD)
