# TP unsecured chat. `make run-server` / `make run-client` to chat,
# `make test` to test. See README.md.

CARGO  ?= cargo
SERVER ?= simple_server
CLIENT ?= simple_client
ARGS   ?=

.PHONY: all build run-server run-client demo bench test unit fmt lint clean

all: build

build:
	$(CARGO) build --release --bins

run-server:
	$(CARGO) run --release --quiet --bin $(SERVER) -- $(ARGS)

run-client:
	$(CARGO) run --release --quiet --bin $(CLIENT) -- $(ARGS)

# The whole lab in one command: every attack against every layer, on free
# local ports, narrated, ending with the attack/defence table.
demo:
	$(CARGO) build --release --bins --quiet
	./target/release/chat_demo $(ARGS)

# The benchmark suite of docs/PERFORMANCE.md (a few minutes; run on a quiet machine).
bench:
	$(CARGO) build --release --bins --quiet
	./target/release/chat_bench --suite $(ARGS)

# Everything CI checks: formatting, lints, every test.
test: lint unit

unit:
	$(CARGO) test

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
