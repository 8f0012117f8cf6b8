# Ticketflow Lab. `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
BIN           := bin/tflab
GO_TEST_FLAGS ?=
RABBIT_BIN    := /usr/lib/rabbitmq/bin/rabbitmq-server

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what is missing (rabbitmq-server from Debian packages, as root or through sudo)
	@if [ -x "$(RABBIT_BIN)" ] || [ -n "$$LAB_AMQP_URL" ]; then exit 0; fi; \
	echo "rabbitmq-server is not installed; installing it from the distribution's packages"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	  echo "cannot install rabbitmq-server: not root and no sudo. Install it with: apt-get install -y rabbitmq-server" >&2; exit 3; fi; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null && \
	echo "rabbitmq-server installed"

.PHONY: build
build: ## Build bin/tflab
	$(GO) build -o $(BIN) ./cmd/tflab

.PHONY: run
run: deps build ## The main job: run the quickstart scenario (a real fault, trace-verified verdict)
	./$(BIN) run quickstart

.PHONY: up
up: deps build ## Bring the whole lab up in the foreground (Ctrl-C stops everything)
	./$(BIN) up

.PHONY: suite
suite: deps build ## Every catalog scenario and its negative control, 3 at a time on a shared broker (JUnit in runs/suite.xml)
	./$(BIN) suite --with-controls --parallel 3 --junit runs/suite.xml

.PHONY: test
test: deps ## Every test once (unit, integration, the README's tour with every catalog scenario + control live), race detector on
	$(GO) test -race -count=1 -tags integration,scenario -timeout 18m $(GO_TEST_FLAGS) ./...

.PHONY: test-tour
test-tour: deps ## Only the README's tour, typed in a fresh copy (TFLAB_TOUR=word,word picks lines; TFLAB_SCENARIOS=a,b narrows its suite)
	$(GO) test -count=1 -tags integration,scenario -timeout 18m -run ReadmeTour -v ./cmd/tflab

.PHONY: test-scenarios
test-scenarios: deps ## Only the live catalog: the tour's suite line (every scenario + control, about 4 minutes on 2 cores; TFLAB_SCENARIOS=a,b picks)
	TFLAB_TOUR=suite $(GO) test -count=1 -tags integration,scenario -timeout 18m -run ReadmeTour -v ./cmd/tflab

.PHONY: test-unit
test-unit: ## Only the unit tests (no broker, no Docker), race detector on
	$(GO) test -race -count=1 $(GO_TEST_FLAGS) ./...

.PHONY: test-integration
test-integration: deps ## Unit + integration tests (the integration ones start their own RabbitMQ nodes)
	$(GO) test -race -count=1 -tags integration -timeout 8m $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: deps build ## Benchmarks that print ratios measured in the same run (Toxiproxy, one protected messaging hop)
	./$(BIN) bench proxy
	./$(BIN) bench hop

.PHONY: lint
lint: ## go vet (with integration files) and a gofmt check
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## Remove build output and run directories
	rm -rf bin runs
