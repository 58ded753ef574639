# gcore-credential-helper — see README.md.
# Linux builds are static (CGO_ENABLED=0): loader cost alone would eat the
# cache-hit budget (the reference's performance targets).

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s
# make test runs every fuzz target briefly; a count, not a duration: very short
# -fuzztime durations can end in a spurious "context deadline exceeded".
FUZZBRIEF ?= 1000x

export CGO_ENABLED ?= 0

.PHONY: all build test cross vet bench demo lint fuzz upstream-patches install clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gcore-credential-helper ./cmd/gcore-credential-helper
	ln -sfn gcore-credential-helper $(BIN)/docker-credential-gcore
	ln -sfn gcore-credential-helper $(BIN)/git-credential-gcore
	$(GO) build -trimpath -o $(BIN)/fake-gcore-iam ./cmd/fake-gcore-iam

# The race detector needs cgo.
test: cross vet
	./scripts/fuzz.sh $(FUZZBRIEF)
	CGO_ENABLED=1 $(GO) test -race -count=1 -tags kongtests ./...

# The binary must build for every platform we ship; without cgo a macOS build
# has no Keychain and falls back to the encrypted file (install.sh builds
# macOS with cgo).
# The product's packages and their unit tests are also vetted for macOS and
# Windows; the end-to-end tests and the keyring daemons are Linux-only. The
# cgo build for macOS (with the Keychain) needs Apple's SDK, so it is
# type-checked instead (internal/cgocheck): its Go code, not its C.
CROSS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
PORTABLE := ./cache/ ./config/ ./helper/ ./protocol/ ./iam/ ./fakeiam/ ./internal/tlv/ ./internal/atomicfile/ ./internal/keyring/ ./cmd/gcore-credential-helper/
cross:
	@for t in $(CROSS); do \
	  echo "build $$t"; \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/gcore-credential-helper || exit 1; \
	done
	@for os in darwin windows; do \
	  echo "vet $$os"; \
	  GOOS=$$os $(GO) vet $(PORTABLE) || exit 1; \
	done
	@for arch in amd64 arm64; do \
	  $(GO) run ./internal/cgocheck -os darwin -arch $$arch ./cmd/gcore-credential-helper || exit 1; \
	done

bench:
	$(GO) run ./bench

demo: build
	./scripts/demo.sh $(BIN)

lint: vet
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (go test runs one target per invocation).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# The patches of the upstream copies (internal/keyring, internal/kong,
# internal/kongplete), after a change to a copy made on purpose; each copy's
# README says why it differs.
upstream-patches:
	$(GO) test -count=1 -tags kongtests ./internal/keyring/ ./internal/kong/ ./internal/kongplete/ -run TestUpstreamPatch -update

# Upstream kong's tests, kept in its copy, build only with the kongtests tag:
# they write struct tags in kong's short form (`cmd`, `arg`), which vet's
# structtag check reads as malformed, so a plain `go vet ./...` skips them.
vet:
	$(GO) vet ./...
	$(GO) vet -tags kongtests -structtag=false ./internal/kong/

install:
	./install.sh

clean:
	rm -rf $(BIN)
