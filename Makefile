# pgverify — `make demo` shows it working, `make test` proves it.
GO        ?= go
BIN       := bin/pgverify
PKGS      := ./...
TEST_FLAGS ?= -race -count=1 -timeout 28m

.PHONY: all build postgres tools test fuzz unit lint demo demo-clean bench clean

all: build

# pgverify --version: the version and commit, whatever GOFLAGS says about -buildvcs.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pgverify

# Postgres 13, 16 and 17 binaries from npm, cached in .pg/ (git-ignored).
postgres:
	@scripts/fetch-postgres.sh

# pgbench and PgBouncer from Debian (apt-get as root), for the switch tests.
tools:
	@scripts/fetch-tools.sh

# Unit and integration tests against real PG 13/16/17 clusters, then each
# fuzz target for FUZZTIME (FUZZTIME=0 skips them; seed corpora and any
# finding land in */testdata/fuzz).
FUZZTIME ?= 20s
test: postgres tools lint
	$(GO) test $(TEST_FLAGS) $(PKGS)
	@if [ "$(FUZZTIME)" != "0" ]; then $(MAKE) --no-print-directory fuzz; fi

fuzz:
	$(GO) test ./internal/dbconn -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./schema/lint -run '^$$' -fuzz '^FuzzLint$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

# Tests that need no Postgres server.
unit:
	$(GO) test -short $(TEST_FLAGS) $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Starts PG 13 and PG 16 locally, replicates an app schema, damages a few
# rows on the target and runs pgverify tables. `make demo-clean` stops them.
demo: postgres build
	$(GO) run ./internal/tools/demo up
	@echo
	@echo "Stop the clusters with: make demo-clean"

demo-clean:
	$(GO) run ./internal/tools/demo down

# 5M-row table on PG 13 replicated to PG 16; pgverify against baselines.
bench: postgres build
	$(GO) run ./internal/tools/bench $(BENCH_FLAGS)

clean:
	rm -rf bin .demo .bench
