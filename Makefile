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

.PHONY: all build run-server run-client demo bench compare compare-run test unit docs fuzz-check interop interop-or-skip browser browser-deps browser-or-skip screenshots fmt lint soak fuzz clean dist dist-check student-edition grade edition-check grade-check

all: build

build:
	$(CARGO) build --release --bins

# Runs a program in the terminal's foreground, on its own, so that Ctrl-C
# reaches it alone: it leaves the chat or stops cleanly, and make adds no
# "Interrupt" line of its own. The program reports its own errors on stderr
# in one line, so make adds no "Error 1" line either: these targets always
# exit 0 (run the binary itself where its status matters).
define run_alone
	@if [ -t 0 ]; then set -m; $(1) & fg %1 >/dev/null; else $(1); fi || true
endef

# The first run builds in release mode (a few minutes); cargo shows its
# progress, and a second terminal waits for the first one's build. The
# command is not echoed: ARGS may hold a password (better given as
# CHAT_PASSWORD or --password-file, which the clients prefer).
run-server:
	$(CARGO) build --release --bin $(SERVER)
	$(call run_alone,$(TARGET_DIR)/release/$(SERVER) $(ARGS))

run-client:
	$(CARGO) build --release --bin $(CLIENT)
	$(call run_alone,$(TARGET_DIR)/release/$(CLIENT) $(ARGS))

# The whole lab in one command: every attack against every layer, played in
# process on free local ports, narrated, ending with the attack/defence table
# (ARGS="--only replay --layer aead" plays part of it; ARGS="--dashboard
# --pause 3" serves the teacher's view of each scene's servers, its address
# on stderr, for the projector). Every binary is built, for the commands
# each scene prints run them from the checkout ($(TARGET_DIR)/release/NAME);
# the first build takes a few minutes, and cargo shows its progress.
demo:
	$(CARGO) build --release --bins
	$(TARGET_DIR)/release/chat_demo $(ARGS)

# The benchmark suite of docs/PERFORMANCE.md (a few minutes; run on a quiet machine).
bench:
	$(CARGO) build --release --bins
	$(TARGET_DIR)/release/chat_bench --suite $(ARGS)

# The Python original and ours, side by side on the original's wire
# (README, "With the Python original"): ORIGINAL is a folder with the lab's
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

# Its page row needs what the lab's pywebio client imports: installed if
# the package index answers, else that row says it was skipped.
compare-run: $(VENV)/.installed build
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r interop/requirements-page.txt \
		|| echo "compare: cannot install pywebio and names_generator: the page row will be skipped"
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(VENV)/bin/python interop/compare.py "$(ORIGINAL)" $(TARGET_DIR)/release

# Everything CI checks: formatting, lints, the docs, the fuzz targets still
# compiling, every test, the room's archive unpacked and run (dist-check),
# a fresh student edition and the score board on it and on the project
# (edition-check, grade-check), the interop check with Python's
# cryptography, and the pages in a real browser. Where Python or its package index is out of
# reach, or Chromium is not installed, those checks are skipped with one
# line saying so, and that fails the run only under CI=true.
test: lint docs fuzz-check unit dist-check edition-check grade-check interop-or-skip browser-or-skip

# The room's binaries without Rust (docs/CLASSROOM.md): the release
# build's binaries a room needs, stripped, a README for students naming
# the platform (the glibc found from the binaries) and the docs, in
# $(DIST_DIR)/unsecured-chat-VERSION-TARGET.tar.gz, at most 40 MiB
# (dist/make-dist.sh; strip and objdump come with binutils).
DIST_DIR ?= $(TARGET_DIR)/dist
dist: build
	@sh dist/make-dist.sh $(TARGET_DIR)/release $(DIST_DIR) >/dev/null

# The archive unpacked and run with a PATH that has no cargo
# (tests/dist_archive.rs, ignored by a plain cargo test): it reuses the
# release build (which interop and browser need too) and the test build of
# `unit`, so nothing builds twice; it adds 7 to 10 s to make test here.
dist-check: build
	@archive=$$(sh dist/make-dist.sh $(TARGET_DIR)/release $(DIST_DIR)) && \
	DIST_ARCHIVE=$$archive $(CARGO) test --quiet --test dist_archive -- --ignored

# The API docs of every crate, with no warning: a link to a private or
# missing item fails.
docs:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --quiet

# The fuzz targets are a workspace of their own that nothing else builds:
# check that they still compile against the library, with the versions
# their lock file holds (--locked fails if it is out of date). They share
# the build folder, so the dependencies are checked once.
fuzz-check:
	$(CARGO) check --quiet --locked --manifest-path fuzz/Cargo.toml --target-dir $(TARGET_DIR)

interop-or-skip:
	@skip() { echo "interop: SKIPPED: $$1; lint and every Rust test passed (make unit runs them alone); run make interop once it is fixed"; [ "$$CI" != true ]; }; \
	if ! command -v $(PYTHON) >/dev/null 2>&1; then \
		skip "$(PYTHON) not found"; \
	elif ! $(MAKE) --no-print-directory -s $(VENV)/.installed >$(TARGET_DIR)/interop-install.log 2>&1; then \
		skip "cannot install the Python environment (see $(TARGET_DIR)/interop-install.log)"; \
	else \
		$(MAKE) --no-print-directory interop; \
	fi

unit:
	$(CARGO) test

# The classroom kit (docs/LAB.md, docs/CLASSROOM.md). The student edition of the
# project, for a Rust class: each part a student writes a todo!, the
# answers left out, the crates carried along (vendor/) so that it builds
# offline. OUT is a new or empty folder.
OUT ?=
student-edition:
	@if [ -z "$(OUT)" ]; then \
		echo "student-edition: say where to write it: make student-edition OUT=DIR" >&2; exit 2; \
	fi
	$(CARGO) run --quiet -p chat-lab --bin chat_edition -- --out "$(OUT)"

# The score board: each step of the lab judged from what it does, in a
# process of its own. STEP=NAME judges one step; with CMD="python3
# simple_bigbrother.py", the student's own program for STEP, against our
# server on the original's wire (on 6666 and 6667, or ARGS="--port P
# --broadcast-port B"), and fails unless it is solved. EXPECT=all (or
# none) makes the board fail unless every step (or none) is solved.
STEP   ?=
CMD    ?=
EXPECT ?=
grade: export GRADE_CMD = $(CMD)
grade:
	@$(CARGO) run --quiet -p chat-lab --bin chat_grade -- \
		$(if $(STEP),--step $(STEP)) $(if $(CMD),--cmd "$$GRADE_CMD") $(if $(EXPECT),--expect $(EXPECT)) $(ARGS)

# make test's checks of the kit, after the unit tests: a fresh edition,
# made as a teacher makes it (vendored), builds offline in the same cargo
# target folder (its crates are the same: none builds twice), passes its
# lints and its own tests (those that need a step solved are ignored
# there), and its
# board shows no step solved, in the time it says; then the project's
# board shows every step solved, and the Python lab's scripts (written in
# the lab's style for the test) are judged, where pyzmq can be installed.
#
# The edition resolves every crate from its vendor/ folder offline (cargo
# metadata, in the edition); it is built from here (--manifest-path, so
# that its vendor/ configuration is not read), from the same registry
# sources as the project: cargo would build vendored copies anew.
#
# The edition's binaries bear the project's names, and cargo puts them in
# the same place (target/debug/NAME), where it does not put the project's
# back while they are up to date: the project's are kept aside (hard
# links, no copy) and put back however the check ends.
EDITION_CHECK = $(TARGET_DIR)/student-edition
EDITION_CARGO = CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) $(CARGO)
PROJECT_BINS  = $(TARGET_DIR)/project-binaries
edition-check:
	rm -rf $(EDITION_CHECK)
	$(CARGO) run --quiet -p chat-lab --bin chat_edition -- --out $(EDITION_CHECK)
	cd $(EDITION_CHECK) && $(CARGO) metadata --offline --locked --format-version 1 >/dev/null
	@rm -rf $(PROJECT_BINS); mkdir -p $(PROJECT_BINS) $(TARGET_DIR)/debug; \
	find $(TARGET_DIR)/debug -maxdepth 1 -type f -perm -u+x -exec ln -f {} $(PROJECT_BINS)/ \; ; \
	status=0; \
	echo "$(EDITION_CARGO) clippy, then test --workspace --manifest-path $(EDITION_CHECK)/Cargo.toml"; \
	$(EDITION_CARGO) clippy --offline --locked --quiet --workspace --all-targets \
		--manifest-path $(EDITION_CHECK)/Cargo.toml -- -D warnings || status=1; \
	[ $$status -ne 0 ] || $(EDITION_CARGO) test --offline --locked --quiet --workspace \
		--manifest-path $(EDITION_CHECK)/Cargo.toml || status=1; \
	[ $$status -ne 0 ] || $(EDITION_CARGO) run --offline --locked --quiet -p chat-lab --bin chat_grade \
		--manifest-path $(EDITION_CHECK)/Cargo.toml -- --expect none || status=1; \
	for saved in $(PROJECT_BINS)/*; do [ ! -e "$$saved" ] || ln -f "$$saved" $(TARGET_DIR)/debug/; done; \
	rm -rf $(PROJECT_BINS); exit $$status

grade-check:
	$(CARGO) run --quiet -p chat-lab --bin chat_grade -- --expect all
	@skip() { echo "grade-check: SKIPPED the Python scripts: $$1 (make grade-check runs them once it is fixed)"; [ "$$CI" != true ]; }; \
	if ! command -v $(PYTHON) >/dev/null 2>&1; then \
		skip "$(PYTHON) not found"; \
	elif ! $(MAKE) --no-print-directory -s $(VENV)/.installed >$(TARGET_DIR)/interop-install.log 2>&1; then \
		skip "cannot install the Python environment (see $(TARGET_DIR)/interop-install.log)"; \
	else \
		$(CARGO) test --quiet -p chat-lab --test grade -- --ignored; \
	fi

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

# The pages (docs/PROTOCOL.md section 11) in a real browser: Debian's Chromium,
# headless, driven through its ChromeDriver by Selenium from the interop
# environment (interop/pages.py). CHROMIUM and CHROMEDRIVER say where they
# are; `apt-get install chromium chromium-driver` installs them.
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser: $(VENV)/.installed build
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(VENV)/bin/python interop/pages.py $(TARGET_DIR)/release

# Debian's Chromium and its driver, installed when missing (as root, or
# through sudo), without questions; a machine that cannot install them is
# told so by browser-or-skip.
browser-deps:
	@mkdir -p $(TARGET_DIR); if [ ! -x "$(CHROMIUM)" ] || [ ! -x "$(CHROMEDRIVER)" ]; then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
		{ $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; } \
			>$(TARGET_DIR)/browser-install.log 2>&1 \
			|| echo "browser: cannot install chromium chromium-driver (see $(TARGET_DIR)/browser-install.log)"; \
	fi

browser-or-skip: browser-deps
	@skip() { echo "browser: SKIPPED: $$1; every other check passed; run make browser once it is fixed"; [ "$$CI" != true ]; }; \
	if [ ! -x "$(CHROMIUM)" ] || [ ! -x "$(CHROMEDRIVER)" ]; then \
		skip "no $(CHROMIUM) or $(CHROMEDRIVER) (apt-get install chromium chromium-driver)"; \
	elif ! command -v $(PYTHON) >/dev/null 2>&1; then \
		skip "$(PYTHON) not found"; \
	elif ! $(MAKE) --no-print-directory -s $(VENV)/.installed >$(TARGET_DIR)/interop-install.log 2>&1; then \
		skip "cannot install the Python environment (see $(TARGET_DIR)/interop-install.log)"; \
	else \
		$(MAKE) --no-print-directory browser; \
	fi

# The screenshots README shows (docs/screenshots/), staged and taken in
# the same browser. Emoji and CJK need Debian's fonts-noto-color-emoji and
# fonts-noto-cjk: installed here with apt-get when missing, where it can.
SCREENSHOT_FONTS = fonts-noto-color-emoji fonts-noto-cjk
screenshots: $(VENV)/.installed build
	@dpkg -s $(SCREENSHOT_FONTS) >/dev/null 2>&1 || { \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $(SCREENSHOT_FONTS) \
		|| echo "screenshots: cannot install $(SCREENSHOT_FONTS): emoji and CJK will show as boxes"; }
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(VENV)/bin/python interop/screenshots.py $(TARGET_DIR)/release docs/screenshots

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
