# TP unsecured chat. `make run-server` / `make run-client` to chat,
# `make test` to test. See README.md.

CARGO  ?= cargo
SERVER ?= simple_server
CLIENT ?= simple_client
ARGS   ?=

.PHONY: all build run-server run-client test unit fmt lint clean soak fuzz

all: build

build:
	$(CARGO) build --release --bins

run-server:
	$(CARGO) run --release --quiet --bin $(SERVER) -- $(ARGS)

run-client:
	$(CARGO) run --release --quiet --bin $(CLIENT) -- $(ARGS)

# Everything CI checks: formatting, lints, every test.
test: lint unit

unit:
	$(CARGO) test

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The soak test, by hand only (not in CI): SOAK_SECS seconds (default 300)
# of clients joining, chatting, stalling and being killed. See docs/ROBUSTNESS.md.
soak:
	$(CARGO) test --release --test soak -- --ignored --nocapture

# Fuzzes the line reader and the frame parsers for FUZZ_SECS seconds (not in
# CI). cargo-fuzz builds on the stable toolchain with `--sanitizer none`.
FUZZ_SECS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && $(CARGO) fuzz run --sanitizer none lines_and_requests -- \
		-max_total_time=$(FUZZ_SECS) -max_len=140000

clean:
	$(CARGO) clean
