# twill — build, test, demo.
# `make demo` sets everything up and shows pods getting networked; `make test` runs every test.

CARGO ?= cargo
PREFIX ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
FUZZ_SECONDS ?= 600
PODS ?= 1000
SCENARIO ?= bridge
# Release binaries are linked statically: a plugin is a short-lived process, and without the
# dynamic loader it starts faster and its resident set is ~0.6 MB smaller. An explicit target
# keeps the static flag off build scripts and proc-macros, which run on the host.
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
RELEASE_DIR = target/$(HOST)/release
STATIC = RUSTFLAGS="-C target-feature=+crt-static"
FUZZ_TARGETS = config result_convert cni_args plugin_env

.PHONY: all setup build release test lint unit goldens deny install-check demo bench bench-overlay fuzz fuzz-smoke install clean

all: build

setup:
	scripts/setup.sh

build:
	$(CARGO) build --workspace --all-targets

release:
	$(STATIC) $(CARGO) build --release --target $(HOST) -p twill-plugins -p twill-bench -p twill-cli -p twill-overlay

# Everything CI proves: formatting, lints, unit + integration + differential tests, the result
# goldens re-proven against Go's libcni, the licence policy, and a short run of every fuzz target.
test: setup lint unit goldens deny install-check fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The CLI's and the overlay's tests run the workspace's binaries (`twill-cni`, `twill`,
# `twilld`) and the overlay benchmark's example, as built beside them: build those first.
unit:
	$(CARGO) build --workspace --bins --examples
	$(CARGO) test --workspace --all-targets

goldens:
	tools/golden-go/check.sh

deny:
	cargo deny --log-level error check licenses bans sources

# The plugins: one binary in CNI_BIN_DIR and a symlink per plugin name; `twill` in PREFIX/bin.
install: release
	install -d "$(DESTDIR)$(CNI_BIN_DIR)" "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 $(RELEASE_DIR)/twill "$(DESTDIR)$(PREFIX)/bin/twill"
	install -m 0755 $(RELEASE_DIR)/twilld "$(DESTDIR)$(PREFIX)/bin/twilld"
	install -m 0755 $(RELEASE_DIR)/twill-cni "$(DESTDIR)$(CNI_BIN_DIR)/twill-cni"
	for p in $$($(RELEASE_DIR)/twill-cni --list); do \
		ln -sfn twill-cni "$(DESTDIR)$(CNI_BIN_DIR)/$$p"; \
	done

# `make install` into a scratch prefix; every installed plugin name must answer VERSION.
install-check:
	scripts/install-check.sh

# ADD/DEL latency and peak RSS as a node fills to PODS pods: twill and the reference plugins
# side by side in one run (needs root and the reference plugins: `make setup`).
bench: setup release
	$(RELEASE_DIR)/twill-bench --pods $(PODS) --scenario $(SCENARIO)

# The overlay: pod-to-pod throughput and latency over twill's vxlan and udp, flannel's vxlan
# device built by hand and the underlay; convergence, memory and idle CPU at OVERLAY_HOSTS hosts.
OVERLAY_HOSTS ?= 50
bench-overlay: setup
	$(CARGO) build --release -p twill-overlay -p twill-cli -p twill-plugins --bins --examples
	target/release/examples/overlay_bench --hosts $(OVERLAY_HOSTS)

# Sets everything up — packages, then `make install` (twill to PREFIX/bin, the plugins to
# CNI_BIN_DIR) — and networks pods with it; afterwards `twill run -- CMD` works as is.
demo: setup install
	PATH="$(PREFIX)/bin:$$PATH" CNI_PATH="$${CNI_PATH:-$(CNI_BIN_DIR)}" scripts/demo.sh
	PATH="$(PREFIX)/bin:$$PATH" CNI_PATH="$${CNI_PATH:-$(CNI_BIN_DIR)}" scripts/demo-overlay.sh

# Long fuzzing runs (FUZZ_SECONDS per target); findings land in crates/cni/fuzz/artifacts.
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	scripts/fuzz.sh 20 $(FUZZ_TARGETS)

clean:
	$(CARGO) clean
