# The two set-up commands are `make run` and `make test`; they install what is missing.
export DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/guildhall
CARGO ?= cargo

.PHONY: run test build release lint postgres browser oidc-provider bench

## run: start PostgreSQL if needed, migrate, seed demo data once, and serve on GUILDHALL_BIND
run: postgres
	$(CARGO) build --release
	$(or $(CARGO_TARGET_DIR),target)/release/guildhall seed-demo
	$(or $(CARGO_TARGET_DIR),target)/release/guildhall serve

## test: the whole suite (unit, integration, browser); each test gets its own database
test: postgres browser oidc-provider
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --no-fail-fast; \
	else \
		$(CARGO) test --no-fail-fast; \
	fi

## lint: formatting and clippy, warnings as errors
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## release: the single binary that serves the whole console
release:
	$(CARGO) build --release

postgres:
	@scripts/ensure-postgres.sh

browser:
	@scripts/ensure-browser.sh

oidc-provider:
	@scripts/ensure-oidc-provider.sh

## bench: seed 10,000 organizations / 200,000 users and measure the heavy pages with wrk
bench: postgres
	@scripts/bench.sh
