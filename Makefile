# holdfast — build, run, test, lint, bench. Installs what it needs on a fresh machine.
CARGO ?= cargo
WIN_TARGET := x86_64-pc-windows-gnu

.PHONY: build run test test-deps test-patches lint bench fuzz fuzz-corpus fuzz-toolchain check-windows test-windows windows-toolchain toolchain install uninstall man bench-report mutants

## Where `make install` puts holdfast: $(PREFIX)/bin/holdfast and $(PREFIX)/share/man/man1/holdfast.1.
PREFIX ?= $(HOME)/.local
## Extra `cargo install` flags (e.g. --debug for a quick local try).
INSTALL_FLAGS ?=

build:
	$(CARGO) build --release

## Start the daemon in the foreground with embedded defaults (Ctrl-C stops it).
run:
	$(CARGO) run --release -- daemon

## `--all-targets` builds examples in test mode only; tests/examples.rs runs the plain binaries.
test: test-deps test-patches
	$(CARGO) build --examples
	$(CARGO) test --all-targets

## Tools the tests use: tmux and zsh (tests/shell_init.rs and tests/console.rs drive real terminals),
## strace (tests/audit_sync_order.rs watches the daemon's fdatasync order), dbus-daemon and
## dbus-monitor (tests/notify_desktop.rs), rsyslogd (tests/rsyslog_roundtrip.rs ships the audit log
## through two rsyslogd to a central copy). Each test skips, saying so, without its tool.
TEST_TOOLS := tmux:tmux zsh:zsh strace:strace dbus-daemon:dbus-daemon dbus-monitor:dbus-bin rsyslogd:rsyslog
test-deps:
	@test "$$(uname -s)" != Linux || { missing=""; for tp in $(TEST_TOOLS); do \
		PATH="$$PATH:/usr/sbin:/sbin" command -v $${tp%%:*} >/dev/null || missing="$$missing $${tp#*:}"; done; \
		test -z "$$missing" || { echo "installing$$missing"; SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; }; }

## Installs the binary built from the lock file (--locked: the tested dependency versions), and the
## man page. Then `holdfast init` names $(PREFIX)/bin/holdfast in every agent's hook.
install:
	$(CARGO) install --locked --path . --root $(PREFIX) $(INSTALL_FLAGS)
	mkdir -p $(PREFIX)/share/man/man1
	$(PREFIX)/bin/holdfast man > $(PREFIX)/share/man/man1/holdfast.1

## Removes what `make install` put in $(PREFIX) (run `holdfast uninstall` first for hooks and data).
uninstall:
	$(CARGO) uninstall --root $(PREFIX) holdfast
	rm -f $(PREFIX)/share/man/man1/holdfast.1

## The man page, from the command-line definition: target/man/holdfast.1.
man:
	mkdir -p target/man
	$(CARGO) run --quiet -- man > target/man/holdfast.1

## The patched brush-parser's own tests, with a regression test per fix (patches/README.md).
test-patches:
	$(CARGO) test --lib --manifest-path patches/brush-parser/Cargo.toml

## Formatting, clippy (src/lib.rs has #![warn(missing_docs)], so an undocumented public item fails
## here) and the API docs with every rustdoc warning (broken or private intra-doc links) denied.
lint:
	rustup component add rustfmt clippy >/dev/null 2>&1 || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

bench:
	$(CARGO) bench --bench holdfast_bench

## Runs the bench BENCH_RUNS times (default 5) and writes the README's performance table (medians
## and ranges of every row) between its bench-report markers: no figure in it is typed by hand.
BENCH_RUNS ?= 5
bench-report:
	rm -rf target/bench-runs && mkdir -p target/bench-runs
	for i in $$(seq 1 $(BENCH_RUNS)); do \
		$(CARGO) bench --bench holdfast_bench && cp target/bench.json target/bench-runs/run-$$i.json || exit 1; \
	done
	HOLDFAST_BENCH_RUNS=$(CURDIR)/target/bench-runs $(CARGO) bench --bench holdfast_bench

check-windows:
	rustup target add $(WIN_TARGET)
	$(CARGO) check --target $(WIN_TARGET) --all-targets

## Windows tests under Wine: cross-build with mingw-w64, run every test binary with wine.
## Linker and runner are set here, not in .cargo/config.toml, so plain `cargo` is unaffected.
WIN_ENV := CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
	CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
	WINEPREFIX=$(CURDIR)/target/wine WINEDEBUG=-all
WIN_SHIM := target/wine/drive_c/windows/system32/bcryptprimitives.dll

test-windows: windows-toolchain $(WIN_SHIM)
	$(WIN_ENV) $(CARGO) build --target $(WIN_TARGET) --examples
	$(WIN_ENV) $(CARGO) test --target $(WIN_TARGET) --all-targets

## Installs mingw-w64, Wine and the Rust target when missing (CI runs as root without stdin).
windows-toolchain:
	@command -v x86_64-w64-mingw32-gcc >/dev/null && command -v wine >/dev/null && command -v wineboot >/dev/null || { \
		echo "installing gcc-mingw-w64-x86-64 and wine"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends gcc-mingw-w64-x86-64 wine wine64 >/dev/null; }
	@rustup target list --installed | grep -qx $(WIN_TARGET) || rustup target add $(WIN_TARGET)

## The Wine prefix (first boot is slow, so it happens once) with the ProcessPrng shim installed.
$(WIN_SHIM): support/windows/bcryptprimitives.c | windows-toolchain
	@mkdir -p target
	$(WIN_ENV) wineboot -i >/dev/null 2>&1
	$(WIN_ENV) wineserver -w
	x86_64-w64-mingw32-gcc -shared -O2 -Wall -o $@ $< -ladvapi32

## Fuzzing (cargo-fuzz, nightly): every target for FUZZ_SECONDS each. New inputs go to
## fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET and, for classify, tests/corpus); a crash
## lands in fuzz/artifacts/TARGET and belongs in tests/fuzz_regressions/ (see its README).
## Safe Rust throughout, so no sanitizer; debug assertions (overflow checks) are on.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := classify wire_decode daemon_frame policy_parse vault_load audit_verify hook_payload
FUZZ_FLAGS := -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -max_len=8192 -print_final_stats=1

fuzz: fuzz-toolchain fuzz-corpus
	@for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
		$(CARGO) +nightly fuzz run --sanitizer none --debug-assertions $$t fuzz/corpus/$$t fuzz/seeds/$$t -- $(FUZZ_FLAGS) || exit 1; \
	done

## Seeds the classify corpus with the command corpus (one file per command line).
fuzz-corpus:
	@for t in $(FUZZ_TARGETS); do mkdir -p fuzz/corpus/$$t fuzz/seeds/$$t; done
	@test -n "$$(ls fuzz/corpus/classify)" || cat tests/corpus/*.txt | grep -v '^#' | cut -f2- | \
		awk 'NF { f = sprintf("fuzz/corpus/classify/corpus_%04d", NR); printf "%s", $$0 > f; close(f) }'

fuzz-toolchain:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz

## Mutation testing (cargo-mutants) of the security-critical modules: one slice per file, each
## mutant built and tested only with the test binaries that cover that file (`--cargo-arg`
## reaches both the build and the test run), one job at a time at the
## lowest priority (a 2-core machine). Not part of CI. `make mutants MUTANTS_SLICES="proof merge"`
## runs a subset; each slice's results land in target/mutants/<slice>/mutants.out/ (caught.txt,
## missed.txt, timeout.txt, unviable.txt). Surviving mutants are reasoned in docs/mutants.md.
MUTANTS_SLICES ?= proof merge decide pending auth flow frame writer verify
MUTANTS_TIMEOUT ?= 120
T := --cargo-arg=--lib --cargo-arg=--test=
mutants_proof   := -f src/vault/proof.rs $(T)vault_auth --cargo-arg=--test=vault_gate
mutants_merge   := -f src/policy/merge.rs $(T)policy_files --cargo-arg=--test=propose
mutants_decide  := -f src/policy/decide.rs $(T)propose
mutants_pending := -f src/daemon/pending.rs $(T)propose --cargo-arg=--test=vault_gate \
	--cargo-arg=--test=agent_integration
mutants_auth    := -f src/daemon/auth.rs $(T)vault_auth --cargo-arg=--test=vault_gate --cargo-arg=--test=tcp
mutants_flow    := -f src/hook/flow.rs $(T)hook_dialects --cargo-arg=--test=hook_failures \
	--cargo-arg=--test=hook_daemon --cargo-arg=--test=hook_proposal
mutants_frame   := -f src/transport.rs --re 'read_frame|ingest' $(T)frame_bound --cargo-arg=--test=bad_input
mutants_writer  := -f src/audit/writer.rs $(T)audit_crash --cargo-arg=--test=audit_failclosed \
	--cargo-arg=--test=audit_sync_order --cargo-arg=--test=audit_tamper \
	--cargo-arg=--test=audit_library --cargo-arg=--test=audit_segments \
	--cargo-arg=--test=audit_checkpoint --cargo-arg=--test=audit_tamper_gaps
mutants_verify  := -f src/audit/verify.rs $(T)audit_tamper --cargo-arg=--test=audit_library \
	--cargo-arg=--test=audit_segments

mutants: $(addprefix mutants-,$(MUTANTS_SLICES))

mutants-%: test-deps
	@command -v cargo-mutants >/dev/null || $(CARGO) install --locked cargo-mutants
	@test -n "$(mutants_$*)" || { echo "no mutants slice named $*"; exit 2; }
	mkdir -p target/mutants
	nice -n 19 $(CARGO) mutants --no-shuffle -j 1 --baseline skip --copy-target=true \
		--timeout $(MUTANTS_TIMEOUT) -o target/mutants/$* $(mutants_$*) || true
	@cd target/mutants/$*/mutants.out && echo "$*: caught $$(wc -l < caught.txt), missed $$(wc -l < missed.txt), \
		timeout $$(wc -l < timeout.txt), unviable $$(wc -l < unviable.txt)"
