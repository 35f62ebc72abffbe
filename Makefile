# swarmjob — run `make demo` for the main job, `make test` for every test.
GO       ?= go
BIN      := bin/swarmjob
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e /tests -e /bench)
# Fuzzing is bounded by a count of executions, not a duration: a duration
# limit can fail with a spurious "context deadline exceeded" when a loaded
# machine starves the fuzz workers at the deadline (golang/go#75804, fixed in
# Go 1.27).
FUZZTIME ?= 30000x
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(shell $(GO) env GOPATH)/bin/golangci-lint

.PHONY: all build swarm-up swarm-down image cli-image demo demo-stop test unit fuzz integration test-cluster vet lint fmt bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/swarmjob

## swarm-up: a local single-node Swarm and the test image (idempotent).
swarm-up:
	hack/swarm-up.sh

## swarm-down: stop what swarm-up started.
swarm-down:
	hack/swarm-down.sh

## image: swarmjob/swarmjob:dev, the server image FROM scratch, for
## deploy/swarmjob-stack.yml (docs/deploy.md).
image:
	hack/image.sh scratch swarmjob/swarmjob:dev

## cli-image: swarmjob/cli:dev, busybox and the swarmjob CLI, for jobs that
## start child jobs (childJobs).
cli-image: swarm-up
	hack/cli-image.sh

## demo: swarm, server in the background, one job run end to end.
demo: swarm-up build
	hack/demo.sh

## demo-stop: stop the demo server.
demo-stop:
	hack/demo.sh stop

## test: vet, lint, unit tests, short fuzzing, integration tests on the real
## Swarm, the node-loss, manager-restart and cross-node child-job tests on a
## 3-node Swarm (test-cluster, about two minutes).
test: vet lint unit fuzz integration test-cluster

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

## lint: golangci-lint (.golangci.yml), installed at a pinned version when
## missing (a few minutes, once).
lint:
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)" || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags cluster ./tests/

unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCapture$$' -fuzztime $(FUZZTIME) ./results/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCreateJob$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseQueries$$' -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSelector$$' -fuzztime $(FUZZTIME) ./jobs/
	$(GO) test -run '^$$' -fuzz '^FuzzEventStream$$' -fuzztime $(FUZZTIME) ./client/
	$(GO) test -run '^$$' -fuzz '^FuzzParseBearer$$' -fuzztime $(FUZZTIME) ./auth/

integration: swarm-up
	$(GO) test -race -count=1 -timeout 20m ./tests/...

## test-cluster: node loss, node drain, a manager's dockerd restarted, the
## stack's child jobs across nodes and a stop on a worker, on a 3-node Swarm of dockerds in network namespaces
## (hack/cluster-up.sh; swarm-up only provides the test image), torn down
## afterwards whatever the outcome.
test-cluster: swarm-up
	hack/cluster-up.sh >/dev/null && \
		$(GO) test -race -count=1 -timeout 10m -tags cluster -run "NodeLoss|NodeDrain|ManagerDockerd|StackChildJobsAcrossNodes|StopOnAWorker" -v ./tests/; \
		rc=$$?; hack/cluster-down.sh; exit $$rc

bench: swarm-up
	$(GO) run ./bench

clean:
	rm -rf bin
