# holdfast — build, run, test, lint, bench. Installs what it needs on a fresh machine.
CARGO ?= cargo
WIN_TARGET := x86_64-pc-windows-gnu

.PHONY: build run test test-deps lint bench bench-report mutants check-windows test-windows windows-toolchain toolchain

build:
	$(CARGO) build --release

## Start the daemon in the foreground with embedded defaults (Ctrl-C stops it).
run:
	$(CARGO) run --release -- daemon

test: test-deps
	$(CARGO) test --all-targets

## Tools the tests use: strace (tests/audit_sync_order.rs watches the daemon's fdatasync order).
test-deps:
	@test "$$(uname -s)" != Linux || command -v strace >/dev/null || { \
		echo "installing strace"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends strace >/dev/null; }

lint:
	rustup component add rustfmt clippy >/dev/null 2>&1 || true
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench:
	$(CARGO) bench --bench holdfast_bench

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
