# twill — build, test, demo.
# `make demo` sets everything up and shows pods getting networked; `make test` runs every test.

CARGO ?= cargo
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = config result_convert cni_args plugin_env

.PHONY: all setup build test lint unit goldens deny demo fuzz fuzz-smoke clean

all: build

setup:
	scripts/setup.sh

build:
	$(CARGO) build --workspace --all-targets

# Everything CI proves: formatting, lints, unit + integration + differential tests, the result
# goldens re-proven against Go's libcni, the licence policy, and a short run of every fuzz target.
test: setup lint unit goldens deny fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --all-targets

goldens:
	tools/golden-go/check.sh

deny:
	cargo deny --log-level error check licenses bans sources

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
