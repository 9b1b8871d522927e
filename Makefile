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

.PHONY: all build run-server run-client demo bench compare compare-run test unit interop fmt lint soak fuzz clean

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
	$(TARGET_DIR)/release/chat_demo $(ARGS)

# The benchmark suite of docs/PERFORMANCE.md (a few minutes; run on a quiet machine).
bench:
	$(CARGO) build --release --bins --quiet
	$(TARGET_DIR)/release/chat_bench --suite $(ARGS)

# The Python original and ours, side by side on the original's wire
# (PROTOCOL.md section 9): ORIGINAL is a folder with the lab's
# base_server.py, base_client.py and simple_server.py (the project ships
# none of them).
ORIGINAL ?=
compare:
	@if [ -z "$(ORIGINAL)" ]; then \
		echo "compare: say where the Python original is: make compare ORIGINAL=DIR" >&2; \
		echo "  (DIR holds the lab's base_server.py, base_client.py and simple_server.py)" >&2; \
		exit 2; \
	fi
	@$(MAKE) --no-print-directory compare-run

compare-run: $(VENV)/.installed build
	$(VENV)/bin/python interop/compare.py "$(ORIGINAL)" $(TARGET_DIR)/release

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
# the reverse, against a running ae_server (interop/interop.py); and the
# original's wire against libzmq peers (interop/zmq_interop.py: pyzmq,
# pickle, msgpack). The virtual environment is made once; it is
# re-provisioned when requirements change. Both scripts run, whatever the
# first's outcome.
interop: $(VENV)/.installed build
	@status=0; \
	$(VENV)/bin/python interop/interop.py $(TARGET_DIR)/release || status=1; \
	$(VENV)/bin/python interop/zmq_interop.py $(TARGET_DIR)/release || status=1; \
	exit $$status

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

# Fuzzes the line reader and the frame parsers, then the ZMTP reader and the
# pickle and msgpack readers, for FUZZ_SECS seconds each (not in
# CI). cargo-fuzz builds on the stable toolchain with `--sanitizer none`.
FUZZ_SECS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && $(CARGO) fuzz run --sanitizer none lines_and_requests -- \
		-max_total_time=$(FUZZ_SECS) -max_len=140000
	cd fuzz && $(CARGO) fuzz run --sanitizer none zmq_frames_and_bodies -- \
		-max_total_time=$(FUZZ_SECS) -max_len=140000

clean:
	$(CARGO) clean
