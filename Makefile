# TP unsecured chat. `make run-server` / `make run-client` to chat,
# `make test` to test. See README.md.

CARGO  ?= cargo
SERVER ?= simple_server
CLIENT ?= simple_client
ARGS   ?=

.PHONY: all build run-server run-client test unit fmt lint clean

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

clean:
	$(CARGO) clean
