# The test target is what CI runs; see README.md.
GO ?= go

# The fuzz targets of the parsers, the rules loader and the summary renderer;
# test runs each for FUZZTIME, a count of inputs rather than a time: a 5s
# limit once failed a clean run with "context deadline exceeded" when it
# expired on a loaded machine.
FUZZ_TARGETS := FuzzDecode FuzzParseMessageTime FuzzFields FuzzParseRules FuzzRenderSummary FuzzReplayStdin FuzzLiteralMatcher FuzzGramFilter
FUZZTIME ?= 500x

.PHONY: build test vet fuzz rules-test

build:
	$(GO) build -o bin/klaxon ./cmd/klaxon

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test builds the tools the tests use (a real Loki, kustomize and helm; each
# is cached after its first build), runs every test with the race detector,
# the shipped rules' tests, and a short run of each fuzz target.
test: vet
	bash deploy/install-tools.sh > /dev/null
	KLAXON_LOKI_BIN="$$(test/loki/build.sh)" KLAXON_REQUIRE_LOKI=1 $(GO) test -race -count=1 ./...
	$(MAKE) rules-test fuzz

rules-test:
	$(GO) run ./cmd/klaxon test --require-coverage rules_test.toml

fuzz:
	@for target in $(FUZZ_TARGETS); do \
		echo "fuzz $$target for $(FUZZTIME)"; \
		$(GO) test ./scanner -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) > /tmp/klaxon-fuzz.log 2>&1 || \
			{ cat /tmp/klaxon-fuzz.log; exit 1; }; \
	done
