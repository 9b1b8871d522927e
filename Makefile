# TP unsecured chat. `make run-server` / `make run-client` to chat,
# `make test` to test. See README.md.

CARGO  ?= cargo
SERVER ?= simple_server
CLIENT ?= simple_client
ARGS   ?=
PYTHON ?= python3
# Where cargo builds (it honours CARGO_TARGET_DIR), and so where the
# release binaries and the interop check's virtual environment live.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
VENV       ?= $(TARGET_DIR)/interop-venv

.PHONY: all build run-server run-client demo bench test unit interop fmt lint soak fuzz clean

all: build

build:
	$(CARGO) build --release --bins

run-server:
	$(CARGO) run --release --quiet --bin $(SERVER) -- $(ARGS)

run-client:
	$(CARGO) run --release --quiet --bin $(CLIENT) -- $(ARGS)

# The whole lab in one command: every attack against every layer, played in
# process on free local ports, narrated, ending with the attack/defence table
# (ARGS="--only replay --layer aead" plays part of it).
demo:
	$(CARGO) build --release --bin chat_demo --quiet
	$(TARGET_DIR)/release/chat_demo $(ARGS)

# The benchmark suite of docs/PERFORMANCE.md (a few minutes; run on a quiet machine).
bench:
	$(CARGO) build --release --bins --quiet
	$(TARGET_DIR)/release/chat_bench --suite $(ARGS)

# Everything CI checks: formatting, lints, every test, and the interop
# check with Python's cryptography wherever Python 3 is installed (CI has it).
test: lint unit
	@if command -v $(PYTHON) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory interop; \
	else \
		echo "interop: SKIPPED: $(PYTHON) not found (make interop needs Python 3)"; \
	fi

unit:
	$(CARGO) test

# Frames made by the Rust clients decrypt with Python's cryptography, and
# the reverse, against a running ae_server (interop/interop.py). The virtual
# environment is made once; it is re-provisioned when requirements change.
interop: $(VENV)/.installed build
	$(VENV)/bin/python interop/interop.py $(TARGET_DIR)/release

$(VENV)/.installed: interop/requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r interop/requirements.txt
	touch $@

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
