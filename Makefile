# vendsync — see README.md.
GO       ?= go
BIN      ?= bin/vendsync
# The site build: only what a site's machine runs (edge, doctor, dex).
SITE_BIN ?= bin/vendsync-site
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# How long `make demo` runs; 0 runs until Ctrl-C.
DURATION ?= 90s
# Extra flags for `vendsync demo`, e.g. DEMO_ARGS="--dir .demo".
DEMO_ARGS ?=
# Benchmark selection (a regexp over benchmark names), e.g. make bench BENCH=SaleHTTP.
BENCH     ?= .
# How much `make fuzz` runs each fuzz target: FUZZX times its budget of
# executions (each budget is about 5 s on a 2-core machine). The budgets are
# counts, not durations: with a duration, Go's fuzz coordinator can fail a
# target with a bare "context deadline exceeded" and no failing input when the
# time runs out while a worker is busy (go.dev/issue/75804, fixed in Go 1.27).
FUZZX     ?= 1
# Every fuzz target, as package:Func:executions.
FUZZ_TARGETS := internal/web:FuzzDecode:40000 internal/web:FuzzRange:20000 \
	sync/wire:FuzzParseMoney:250000 internal/auth:FuzzVerify:300000 \
	sync/envelope:FuzzBatch:200000 sync/envelope:FuzzParseFrame:300000 \
	sync/envelope:FuzzParseDownlinkKey:300000
# The DEX/EVA-DTS audit parser.
FUZZ_TARGETS += edge/dex:FuzzParse:150000
# The hand-written reader of a machine's plain sale body.
FUZZ_TARGETS += edge/api:FuzzPlainSale:15000
# The JSON validator of audit details, against encoding/json's.
FUZZ_TARGETS += internal/jsonappend:FuzzValid:300000
# The hand-written UTC times of answers, against time.Format.
FUZZ_TARGETS += internal/jsonappend:FuzzTime:300000

.PHONY: all build test lint demo bench fuzz clean

all: lint test build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vendsync
	$(GO) build -tags site -ldflags "$(LDFLAGS)" -o $(SITE_BIN) ./cmd/vendsync

test: tools
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags site ./cmd/vendsync
	$(GO) vet -tags lossydisk ./internal/sqlite

demo: build tools
	$(BIN) demo --duration $(DURATION) $(DEMO_ARGS)

bench:
	scripts/bench.sh '$(BENCH)'

# Runs every fuzz target for FUZZX times its budget; a failing input is saved
# under the package's testdata/fuzz/ and replayed by `make test` from then on.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; n=$$(( $${rest##*:} * $(FUZZX) )); \
		echo "fuzz $$fn in ./$$pkg for $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $${n}x ./$$pkg; \
	done

clean:
	rm -rf bin

# The dashboard in headless Chromium (Debian: apt-get install -y chromium).
# Screenshots of every page go to SCREENSHOTS.
SCREENSHOTS ?= $(CURDIR)/artefacts/dashboard
.PHONY: test-browser
test-browser:
	mkdir -p $(SCREENSHOTS)
	VENDSYNC_SCREENSHOTS=$(SCREENSHOTS) $(GO) test -tags browser -race -count=1 -timeout 10m -run Browser -v ./central/dashboard/

# Fault-injection suite over the real binary (internal/torture, build tag
# torture; not part of `make test`): 3 central nodes and 3 sites as
# processes, sellers at every site, a seeded random schedule of kill -9,
# cut links, a partitioned node, clock skew and a full disk, then a check
# of every acked sale against every site and node. TORTURE_SEED replays a
# schedule; figures in RELIABILITY.md. Disk-full faults need root (tmpfs).
TORTURE_DURATION ?= 30m
TORTURE_SEED     ?=
.PHONY: torture torture-ci
torture:
	TORTURE_DURATION=$(TORTURE_DURATION) TORTURE_SEED=$(TORTURE_SEED) \
		$(GO) test -tags torture -count=1 -timeout 3h -run '^TestTorture$$' -v ./internal/torture/

# The 3-minute version CI runs.
torture-ci:
	$(MAKE) torture TORTURE_DURATION=3m

# A .deb of the binary, its systemd units (installed disabled) and the
# vendsync service user (see scripts/package). nfpm runs from its Go module,
# pinned, so it is not a dependency of the product.
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
# Where the .deb goes (files are staged in dist/stage, as nfpm.yaml says).
PKGDIR      ?= dist
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
# A Debian version must start with a digit: a tag v1.2.3 gives 1.2.3,
# anything else 0.0.0~git<commit>.
PKG_VERSION ?= $(shell v=$$(git describe --tags --exact-match 2>/dev/null | sed 's/^v//'); \
	[ -n "$$v" ] && echo "$$v" || echo "0.0.0~git$$(git rev-parse --short HEAD 2>/dev/null || echo dev)")
.PHONY: package
package:
	rm -rf dist/stage && mkdir -p dist/stage $(PKGDIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(PKG_ARCH) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/stage/vendsync ./cmd/vendsync
	$(GO) run ./cmd/vendsync edge install --dry-run --binary /usr/bin/vendsync --dir /var/lib/vendsync/site > dist/stage/vendsync-edge.service
	$(GO) run ./cmd/vendsync central install --dry-run --binary /usr/bin/vendsync --dir /var/lib/vendsync/central > dist/stage/vendsync-central.service
	PKG_ARCH=$(PKG_ARCH) PKG_VERSION=$(PKG_VERSION) $(NFPM) package --config scripts/package/nfpm.yaml --packager deb --target $(PKGDIR)/
	@ls -l $(PKGDIR)/*.deb

# Demand forecast: the backtest table (naive vs censoring-aware, BENCHMARKS.md)
# and the daily run at fleet size (10,000 machines × 20 products; minutes).
.PHONY: forecast-backtest forecast-bench
forecast-backtest:
	$(GO) test -count=1 -run Backtest -v ./central/forecast/ | grep -E '^\s+backtest_test.go:[0-9]+: (\||days)'
forecast-bench:
	$(GO) test -run '^$$' -bench DailyRun -benchtime=1x -timeout 60m ./central/forecast/
# Stripe's own mock server, the payment gateway of the tests and the demo
# (internal/stripemock finds it in ./bin). Pinned; keep in step with
# stripemock.Module.
STRIPE_MOCK ?= github.com/stripe/stripe-mock@v0.203.0
.PHONY: tools
tools: bin/stripe-mock
bin/stripe-mock:
	GOBIN=$(CURDIR)/bin $(GO) install $(STRIPE_MOCK)

# The edge against a conventional PostgreSQL peer, interleaved, same load
# generator: make bench-peer PEERS=path/to/peers [PEER_SALES=120000] [PEER_ROUNDS=3]
.PHONY: bench-peer
PEER_SALES ?= 120000
PEER_ROUNDS ?= 3
bench-peer:
	@test -n "$(PEERS)" || { echo "set PEERS to the peer module's directory (pgpeer/ and loadgen/)"; exit 2; }
	scripts/peer-bench.sh '$(PEERS)' $(PEER_SALES) $(PEER_ROUNDS)
