# The test target is what CI runs; see README.md.
GO ?= go

.PHONY: build test vet

build:
	$(GO) build -o bin/klaxon ./cmd/klaxon

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet
	$(GO) test -race -count=1 ./...
