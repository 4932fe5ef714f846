# tauri-plugin-opentelemetry — every entry point sets up what it needs (Debian 12).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := build-essential pkg-config curl libwebkit2gtk-4.1-dev \
	libayatana-appindicator3-dev librsvg2-dev prometheus python3-aiosmtpd \
	chromium xvfb webkit2gtk-driver prometheus-alertmanager docker-compose
TAURI_DRIVER_VERSION := 2.1.0
CARGO_DENY_VERSION := 0.20.2

.PHONY: setup frontend demo test check-features size bench-overhead e2e package bench bench-dashboard fuzz load soak check-bindings check-dashboard

## setup: install the Debian packages and npm packages the build and the tests use (idempotent)
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v npm >/dev/null || { DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@command -v tauri-driver >/dev/null || cargo install tauri-driver --version $(TAURI_DRIVER_VERSION) --locked
	@command -v cargo-deny >/dev/null || cargo install cargo-deny --version $(CARGO_DENY_VERSION) --locked
	npm ci --no-audit --no-fund --loglevel=error

## frontend: build the dashboard the engine embeds and the studio app's frontend
frontend:
	npm run --silent build:dashboard
	npm run --silent build:init
	npm run --silent build:studio

## demo: run the studio app (examples/studio) with its live telemetry panel; with no
## display it runs headless and serves the same dashboard on http://127.0.0.1:9090/
demo: setup frontend
	cargo run -p studio -- $(ARGS)

## test: formatting, lints, every Rust test (real Prometheus, promtool, OTLP receivers, SMTP),
## the TypeScript type check, the guest-js tests (vitest) and its ESM + CJS build.
## Disk: the lints and feature checks build metadata the tests cannot use, so they go to a
## target directory of their own (target/check), removed once they pass; incremental
## compilation is off (a one-off build gains nothing from it and it doubled the target).
test: export CARGO_INCREMENTAL = 0
test: setup frontend
	@df -h . | awk 'NR == 2 { print "disk at the start: " $$4 " free of " $$2 }'
	$(MAKE) check-dashboard
	cargo fmt --all -- --check
	CARGO_TARGET_DIR=$(CHECK_TARGET) cargo clippy --workspace --all-targets -- -D warnings
	# The fuzz targets are a workspace of their own: checked here so they keep compiling.
	CARGO_TARGET_DIR=$(CHECK_TARGET) cargo check --manifest-path fuzz/Cargo.toml
	cargo deny check bans licenses sources
	$(MAKE) check-features CHECK_TARGET=$(CHECK_TARGET)
	rm -rf $(CHECK_TARGET)
	cargo test --workspace --all-targets
	cargo test --workspace --doc
	$(MAKE) check-bindings
	npm run --silent check
	npm test
	npm run --silent build
	$(MAKE) package
	$(MAKE) e2e
	@df -h . | awk 'NR == 2 { print "disk at the end: " $$4 " free of " $$2 }'; du -sh target
	@echo "make test: all checks passed"

## check-features: both crates build with no features and with each feature alone, and
## the engine's unit tests pass with none (`make test` runs every test with all of them);
## the checks go to CHECK_TARGET (default: target/check), the unit tests to target
ENGINE_FEATURES := alerts minidumps server email otlp-grpc bindings
PLUGIN_FEATURES := alerts minidumps server email otlp-grpc panel
CHECK_TARGET ?= $(CURDIR)/target/check
check-features: export CARGO_TARGET_DIR = $(CHECK_TARGET)
check-features:
	cargo check -p telemetry-engine --no-default-features
	for f in $(ENGINE_FEATURES); do cargo check -p telemetry-engine --no-default-features --features $$f; done
	cargo check -p tauri-plugin-opentelemetry --no-default-features
	for f in $(PLUGIN_FEATURES); do cargo check -p tauri-plugin-opentelemetry --no-default-features --features $$f; done
	env -u CARGO_TARGET_DIR cargo test -p telemetry-engine --no-default-features --lib

## size: crates and stripped release binary size the plugin adds to a bare Tauri app, for
## the minimal, default and full feature sets (a Markdown table; about 20 min the first time)
size: setup
	scripts/size.sh

## bench-overhead: what the plugin costs a running app against the same app without it
## (time to the first page, main-thread setup, idle CPU over OVERHEAD_MINUTES (default 5),
## RSS) at the default config, the production profile and with the panel open; and what
## the engine alone costs a tokio program (OVERHEAD_CONFIGS picks: default production
## panel engine)
OVERHEAD_MINUTES ?= 5
bench-overhead: setup
	OVERHEAD_MINUTES=$(OVERHEAD_MINUTES) scripts/overhead.sh

## package: what `cargo publish` would upload for both crates (the engine first, resolved
## locally), each built from its packed sources as crates.io would build it (the profile
## of the test build, so the dependencies already built are reused), with their sizes
package:
	@out=$$(cargo package --workspace --exclude studio --exclude minimal --allow-dirty \
		--config 'profile.dev.debug="line-tables-only"' \
		--config 'profile.dev.package."*".debug=false' 2>&1) || { echo "$$out"; exit 1; }; \
		echo "$$out" | grep -E "Packag|Verif"

## e2e: the dashboard in headless Chromium and the studio app in a real window (Xvfb,
## tauri-driver, WebKitWebDriver); screenshots go to test-artifacts/
e2e:
	cargo build -p studio -p minimal
	# --test-force-exit: a handle left open (a child process a failed hook did not stop)
	# cannot keep a finished test file, and so the run, waiting.
	node --test --test-concurrency=1 --test-force-exit tests/e2e/

## fuzz: fuzz the config parser, the alert condition parser/evaluator and every command's
## argument decoding (the series query among them), FUZZ_SECONDS
## (default 60) each; a crash stops with its input in fuzz/artifacts
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := config_json alert_condition api_commands
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	# cargo-fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
	# New inputs go to fuzz/target/corpus; the committed seeds in fuzz/corpus are only read.
	for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/corpus/$$target; \
		(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $$target \
			target/corpus/$$target corpus/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=4096) || exit 1; \
	done

## check-bindings: the TypeScript bindings generated by ts-rs match what is committed
check-bindings:
	@if ! git diff --exit-code --stat -- guest-js/src/bindings; then \
		echo "guest-js/src/bindings differ from the Rust types: run cargo test and commit them"; exit 1; fi
	@if [ -n "$$(git ls-files --others --exclude-standard -- guest-js/src/bindings)" ]; then \
		echo "new bindings not committed:"; git ls-files --others --exclude-standard -- guest-js/src/bindings; exit 1; fi

## check-dashboard: the dashboard embedded in the engine is the build of guest-js/dashboard,
## and the init script the plugin embeds is the build of guest-js/init
check-dashboard:
	@if ! git diff --exit-code --stat -- crates/engine/assets/dashboard; then \
		echo "crates/engine/assets/dashboard differs from its sources: run npm run build:dashboard and commit it"; exit 1; fi
	@if ! git diff --exit-code --stat -- src/capture-init.js; then \
		echo "src/capture-init.js differs from guest-js/init: run npm run build:init and commit it"; exit 1; fi

## bench-dashboard: the dashboard in Chromium against bare uPlot (BENCH_SECONDS, default 600)
bench-dashboard: setup
	npm run --silent bench:dashboard

## load: wrk against the studio (release build) with 10,000 extra series: throughput and
## p99 of /metrics, /health and /api/*, and the recording rate under load vs idle
load: setup frontend
	@command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null
	cargo build --release -p studio
	python3 scripts/load.py $(ARGS)

## soak: the studio under continuous load for SOAK_SECONDS (default 1800); prints the RSS
## and open-descriptor slopes and fails when they are not flat
SOAK_SECONDS ?= 1800
soak: setup frontend
	cargo build --release -p studio
	python3 scripts/soak.py --seconds $(SOAK_SECONDS) $(ARGS)

## bench: criterion benchmarks with their peers, then the README table of ratios
bench: setup
	cargo bench -p telemetry-engine --bench metrics --bench tracing --bench paired --bench spool
	cargo bench -p tauri-plugin-opentelemetry --bench ipc
	python3 scripts/bench-table.py
