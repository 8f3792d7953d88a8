# argo-cred. The two commands a newcomer needs: make demo, make test.
SHELL := /bin/bash
# VERSION's version (make release-prep writes it) on its release tag; any
# other build says it is newer: VERSION's, then +dev.COMMIT[.dirty].
# make dist stamps VERSION's alone (test/dist/dist.sh).
VERSION ?= $(shell v=$$(cat VERSION); if [ "$$(git describe --tags --exact-match --dirty 2>/dev/null)" = "$$v" ]; then echo "$$v"; \
	else echo "$$v+dev.$$(git describe --always --dirty=.dirty --abbrev=12 --exclude '*' 2>/dev/null || echo unknown)"; fi)
LDFLAGS := -s -w -X github.com/argo-cred/argo-cred/internal/version.Version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: deps build docs dist release-prep setup-checksums release-proof image fuzz reliability test test-long vet unit integration demo bench stack-up stack-down stack-status stack-binaries clean

build: ## the argo-cred binary, static, in bin/
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/argo-cred ./cmd/argo-cred

docs: ## regenerate docs/reference.md, the flag reference, from the command tree (test/tools/docgen)
	go run ./test/tools/docgen docs/reference.md

fuzz: ## every fuzz target for FUZZTIME (default 5s) each
	test/fuzz.sh

reliability: stack-up ## the reliability figures of docs/reliability.md: load, bad input, faults, leaks (verbose); fails when a test fails
	set -o pipefail; go test -count=1 -timeout 20m -v -run 'TestIntegrationLoad|TestIntegrationBadInput|TestIntegrationFault|TestIntegrationLeakScan|TestHostile' ./cmd/argo-cred/ \
		| grep -E '^--- FAIL|_test.go:[0-9]+: (load|fault|bad input|exited|exit )|^(ok|FAIL)'

dist: ## release artifacts in dist/: binaries for 6 platforms, archives, SBOMs, checksums, krew manifest (test/dist/dist.sh)
	test/dist/dist.sh

# The release, in three steps; the tag names the action's image by digest:
#  1. make release-prep V=vX.Y.Z: VERSION, the tag of the action's image in
#     action.yml and the examples (setup/checksums.txt pins nothing, as on
#     main). Commit ("release vX.Y.Z") and push to main.
#  2. Run the images workflow (.github/workflows/images.yml) on that commit:
#     it builds ghcr.io/argo-cred/argo-cred{,-action}:vX.Y.Z from base images
#     resolved to digests (dist/docker-bake.json, test/dist/dist.sh bake),
#     pushes them, signs them by digest with cosign and prints the action
#     image's digest. It refuses a version whose images exist already.
#  3. On that same commit, detached (git switch --detach), clean:
#     make release-prep V=vX.Y.Z DIGEST=sha256:<that digest>, which writes
#     `image: docker://ghcr.io/argo-cred/argo-cred-action@sha256:… # vX.Y.Z`
#     and, for the setup action, the release archives' SHA-256 into
#     setup/checksums.txt (make setup-checksums: make dist of this commit);
#     commit (action.yml and setup/checksums.txt only), tag vX.Y.Z, push the
#     tag. The release workflow (release.yml) checks that the tag's parent is
#     the commit the images were signed from, that the tag changes only those
#     two files, and that ghcr.io's vX.Y.Z is that digest, before it builds
#     and publishes the rest; it fails unless the archives it built are the
#     ones setup/checksums.txt pins. dist.sh stamps the version from VERSION
#     and the commit of the sources, which the tag's commit leaves unchanged,
#     so both builds give the same bytes (docs/releases.md).
#  main keeps the tag form, so `make image` and `uses: ./` build and run the
#  action's image locally with no registry.
release-prep: ## set VERSION, the action's image in action.yml and the examples' tags to V (make release-prep V=v0.2.0 [DIGEST=sha256:…]; with DIGEST also the setup action's pins), for the release commits
	@test -n "$(V)" || { echo "give V=vX.Y.Z" >&2; exit 2; }
	@echo "$(V)" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+$$' || { echo "V must look like v1.2.3" >&2; exit 2; }
	@test -z "$(DIGEST)" || echo "$(DIGEST)" | grep -Eq '^sha256:[0-9a-f]{64}$$' || { echo "DIGEST must look like sha256:<64 hex digits>, the digest of ghcr.io/argo-cred/argo-cred-action:$(V)" >&2; exit 2; }
	@grep -Eq '^  image: docker://ghcr\.io/argo-cred/argo-cred-action[:@]' action.yml || { echo "action.yml names no image ghcr.io/argo-cred/argo-cred-action to set" >&2; exit 1; }
	echo "$(V)" >VERSION
	sed -i -E 's|^( *image: docker://ghcr\.io/argo-cred/argo-cred-action)[:@].*$$|\1$(if $(DIGEST),@$(DIGEST) # $(V),:$(V))|' action.yml
	@grep -qxF '  image: docker://ghcr.io/argo-cred/argo-cred-action$(if $(DIGEST),@$(DIGEST) # $(V),:$(V))' action.yml || { echo "action.yml: the image line was not rewritten" >&2; exit 1; }
	@# Every argo-cred version tag the examples and docs name: the action and
	@# setup action (argo-cred/argo-cred[/setup]@), the images (argo-cred:,
	@# argo-cred-action:, the GitLab job image argo-cred-job:), the GitLab
	@# component (…/argo-cred@), README's install line and gitlab-ci.md's note.
	sed -i -E -e 's#(argo-cred[:@]|argo-cred-(action|job):|/setup@)v[0-9]+\.[0-9]+\.[0-9]+#\1$(V)#g' -e 's#^v=v[0-9]+\.[0-9]+\.[0-9]+;#v=$(V);#' -e 's#`@v[0-9]+\.[0-9]+\.[0-9]+` of its#`@$(V)` of its#' \
		examples/github-actions/*.yml examples/gitlab-ci/.gitlab-ci.yml examples/gitlab-ci/Dockerfile examples/gitlab-ci/component/templates/argo-cred.yml README.md docs/*.md
	@# The setup action's pins: the archives of this commit in the digest step; none in the tag form, as on main.
	$(if $(DIGEST),$(MAKE) --no-print-directory setup-checksums,sed -i '/^#/!d' setup/checksums.txt)

# The release archives' SHA-256 into setup/checksums.txt, where the setup
# action (setup/action.yml) reads what it verifies downloads against. The
# archives are make dist's of this commit as VERSION names it, so the tree
# must be clean but for what release-prep writes at the tag (action.yml,
# setup/checksums.txt): those are not in the archives, nor in the stamps.
setup-checksums: ## the release archives' SHA-256 into setup/checksums.txt, for the setup action (release-prep runs it with DIGEST)
	@test -z "$$(git status --porcelain -- . ':(exclude)action.yml' ':(exclude)setup/checksums.txt')" || { echo "uncommitted changes (git status): the archives would not be the commit's; commit the release-prep V=vX.Y.Z step (VERSION) first" >&2; exit 1; }
	VERSION= test/dist/dist.sh
	@dist=$${DIST_DIR:-dist}; v=$$(cat VERSION); \
	lines=$$(grep -E "^[0-9a-f]{64}  argo-cred_$${v//./\\.}_[a-z]+_[a-z0-9]+\.(tar\.gz|zip)$$" "$$dist/checksums.txt") || { echo "$$dist/checksums.txt lists no archive of $$v" >&2; exit 1; }; \
	{ grep '^#' setup/checksums.txt; echo "$$lines"; } >setup/checksums.txt.tmp && mv setup/checksums.txt.tmp setup/checksums.txt
	@echo "setup/checksums.txt: $$(grep -vc '^#' setup/checksums.txt) archives of $$(cat VERSION) pinned"

image: stack-binaries ## the argo-cred image (argo-cred:dev), offline: see test/image/build.sh
	test/image/build.sh

# Every test but the release proof and the long jobs; one line per
# package, the output of failed tests, skipped tests with their reason, and
# the counts (test/tools/testsum). With CI=true a skipped test fails the
# run. -parallel 4 on 2 cores: the relay and docker tests mostly wait for a
# workflow to end, and with two at a time the rest queue behind them.
test: vet stack-up ## vet, then unit and integration tests against the local stack (about 3 min warm)
	set -o pipefail; go test -count=1 -timeout 20m -parallel 4 -json -skip '^TestReleaseDist$$|^TestLong' ./... | go run ./test/tools/testsum

# Jobs that outlive their tokens for real (a TokenRequest token lives at
# least 10 minutes, so renewing one twice takes 14): the TestLong* tests,
# all at once, in their own CI phase.
test-long: stack-up ## the long-job tests (TestLong*: tokens renewed during real waits; about 15 min)
	set -o pipefail; go test -count=1 -timeout 40m -json -run '^TestLong' ./... | go run ./test/tools/testsum

release-proof: ## make dist for six platforms, twice, and from an empty build cache, checked (TestReleaseDist; about 4 min warm)
	set -o pipefail; go test -count=1 -timeout 30m -json -run '^TestReleaseDist$$' ./test/dist/ | go run ./test/tools/testsum

vet: ## go vet and gofmt
	go vet ./...
	@files=$$(gofmt -l cmd internal test); if [ -n "$$files" ]; then echo "gofmt needed: $$files" >&2; exit 1; fi

unit: ## unit tests only (no stack, no Docker, no tools)
	set -o pipefail; go test -short -count=1 -json ./... | go run ./test/tools/testsum

integration: stack-up ## integration tests only
	go test -count=1 -timeout 20m -run 'Integration' ./...

demo: build stack-up ## the main job: argo-cred against the local stack
	test/demo.sh

bench: build stack-up ## benchmarks against the local stack (see docs/benchmarks.md)
	test/bench/bench.sh

deps: ## the Debian packages the stack and tests need (apt-get, as root)
	test/stack/deps.sh

stack-binaries: ## build (or reuse) kube-apiserver, kube-controller-manager and argo
	test/stack/binaries.sh >/dev/null

stack-up: ## start the local control plane and Argo Servers (idempotent)
	test/stack/stack.sh up

stack-down: ## stop them and remove their state
	test/stack/stack.sh down

stack-status:
	test/stack/stack.sh status

clean: stack-down
	rm -rf bin
