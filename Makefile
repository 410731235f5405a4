# vendsync — see README.md.
GO       ?= go
BIN      ?= bin/vendsync
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# How long `make demo` runs; 0 runs until Ctrl-C.
DURATION ?= 90s
# Extra flags for `vendsync demo`, e.g. DEMO_ARGS="--dir .demo".
DEMO_ARGS ?=
# Benchmark selection (a regexp over benchmark names), e.g. make bench BENCH=SaleHTTP.
BENCH     ?= .
# How long `make fuzz` runs each fuzz target.
FUZZTIME  ?= 10s
# Every fuzz target, as package:Func.
FUZZ_TARGETS := internal/web:FuzzDecode internal/web:FuzzRange sync/wire:FuzzParseMoney \
	internal/auth:FuzzVerify sync/envelope:FuzzBatch sync/envelope:FuzzParseFrame \
	sync/envelope:FuzzParseDownlinkKey
# The DEX/EVA-DTS audit parser.
FUZZ_TARGETS += edge/dex:FuzzParse

.PHONY: all build test lint demo bench fuzz clean

all: lint test build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vendsync

test:
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build
	$(BIN) demo --duration $(DURATION) $(DEMO_ARGS)

bench:
	scripts/bench.sh '$(BENCH)'

# Runs every fuzz target for FUZZTIME; a failing input is saved under the
# package's testdata/fuzz/ and replayed by `make test` from then on.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in ./$$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg; \
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
