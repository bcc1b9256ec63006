# smartcar-poller. Everything here is also runnable with plain `go` commands.
GO      ?= go
BIN     ?= bin
FUZZTIME ?= 30s
# Run at a pinned version, not required by go.mod (so not by users of the module).
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# deploy/ is a module of its own (its tests need kustomize): every target runs it too.

.PHONY: build test race lint bench run demo sim fuzz faults ci

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test:
	$(GO) test ./...
	cd deploy && $(GO) test ./...

race:
	$(GO) test -race ./...
	cd deploy && $(GO) test -race ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	$(STATICCHECK) ./...
	cd deploy && $(STATICCHECK) ./...

bench:
	$(GO) run ./bench

run demo:
	$(GO) run ./cmd/smartcar-poller demo

sim:
	$(GO) run ./cmd/smartcar-sim

fuzz:
	$(GO) test ./config   -run '^$$' -fuzz '^FuzzParse$$'          -fuzztime $(FUZZTIME)
	$(GO) test ./smartcar -run '^$$' -fuzz '^FuzzErrorResponse$$'  -fuzztime $(FUZZTIME)
	$(GO) test ./smartcar -run '^$$' -fuzz '^FuzzBatchResponse$$'  -fuzztime $(FUZZTIME)
	$(GO) test ./smartcar -run '^$$' -fuzz '^FuzzVerifyPayload$$'  -fuzztime $(FUZZTIME)
	$(GO) test ./smartcar -run '^$$' -fuzz '^FuzzErrorResponseV3$$' -fuzztime $(FUZZTIME)
	$(GO) test ./smartcar -run '^$$' -fuzz '^FuzzParseWebhook$$'   -fuzztime $(FUZZTIME)
	$(GO) test ./normalize -run '^$$' -fuzz '^FuzzNormalize$$'     -fuzztime $(FUZZTIME)
	$(GO) test ./normalize -run '^$$' -fuzz '^FuzzFromSignals$$'   -fuzztime $(FUZZTIME)
	$(GO) test ./events   -run '^$$' -fuzz '^FuzzParseValidate$$'  -fuzztime $(FUZZTIME)

faults:
	FAULTS=full REQUIRE_SERVICES=1 $(GO) test -race -count=1 -timeout 30m -v -run '^TestFaults_' ./reliability
	FAULTS=full REQUIRE_SERVICES=1 $(GO) test -race -count=1 -timeout 15m -run TestReplicas ./cmd/smartcar-poller

ci:
	bash .ci/run
