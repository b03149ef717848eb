# twill — build, test, demo.
# `make demo` sets everything up and shows pods getting networked; `make test` runs every test.

CARGO ?= cargo
PREFIX ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = config result_convert cni_args plugin_env

.PHONY: all setup build test lint unit goldens deny install-check demo fuzz fuzz-smoke install clean

all: build

setup:
	scripts/setup.sh

build:
	$(CARGO) build --workspace --all-targets

# Everything CI proves: formatting, lints, unit + integration + differential tests, the result
# goldens re-proven against Go's libcni, the licence policy, and a short run of every fuzz target.
test: setup lint unit goldens deny install-check fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The CLI's tests run the plugin binary built beside `twill`: build the workspace first.
unit:
	$(CARGO) build --workspace
	$(CARGO) test --workspace --all-targets

goldens:
	tools/golden-go/check.sh

deny:
	cargo deny --log-level error check licenses bans sources

# The plugins: one binary in CNI_BIN_DIR and a symlink per plugin name; `twill` in PREFIX/bin.
install:
	$(CARGO) build --release -p twill-plugins -p twill-cli
	install -d "$(DESTDIR)$(CNI_BIN_DIR)" "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 target/release/twill "$(DESTDIR)$(PREFIX)/bin/twill"
	install -m 0755 target/release/twill-cni "$(DESTDIR)$(CNI_BIN_DIR)/twill-cni"
	for p in $$(target/release/twill-cni --list); do \
		ln -sfn twill-cni "$(DESTDIR)$(CNI_BIN_DIR)/$$p"; \
	done

# `make install` into a scratch prefix; every installed plugin name must answer VERSION.
install-check:
	scripts/install-check.sh

demo: setup
	$(CARGO) build --example chain
	scripts/demo.sh target/debug/examples/chain

# Long fuzzing runs (FUZZ_SECONDS per target); findings land in crates/cni/fuzz/artifacts.
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	scripts/fuzz.sh 20 $(FUZZ_TARGETS)

clean:
	$(CARGO) clean
