# holdfast — build, run, test, lint, bench. Installs what it needs on a fresh machine.
CARGO ?= cargo
WIN_TARGET := x86_64-pc-windows-gnu

.PHONY: build run test lint bench check-windows test-windows toolchain

build:
	$(CARGO) build --release

## Start the daemon in the foreground with embedded defaults (Ctrl-C stops it).
run:
	$(CARGO) run --release -- daemon

test:
	$(CARGO) test --all-targets

lint:
	rustup component add rustfmt clippy >/dev/null 2>&1 || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench:
	$(CARGO) bench --bench holdfast_bench

check-windows:
	rustup target add $(WIN_TARGET)
	$(CARGO) check --target $(WIN_TARGET) --all-targets
