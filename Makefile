# The two commands of README.md, and the pieces they are made of.
.PHONY: run test build suites unit api mkube kickstart contract e2e lab ui bench fuzz fuzz-long

DATA ?= ./data
# ISO export: `make run EXPORT=tgt` (a running tgtd; README, "ISOs exported by bootgate").
EXPORT ?= none
EXPORT_FLAGS ?=
LISTEN ?= 127.0.0.1:8082

run:
	scripts/install-deps.sh build
	swift build
	.build/debug/bootgate serve --listen $(LISTEN) --data $(DATA) --examples ./examples --power-control false --export $(EXPORT) $(EXPORT_FLAGS)

test: build suites

# The suites below, in two parallel lanes (scripts/run-suites.sh).
suites:
	scripts/run-suites.sh

build:
	scripts/install-deps.sh test
	swift build --build-tests

unit:
	swift test --skip-build

api:
	python3 -m pytest -q Tests/api

mkube:
	python3 -m pytest -q Tests/mkube

kickstart:
	python3 -m pytest -q Tests/kickstart

contract:
	Tests/contract/run.sh

e2e:
	python3 Tests/e2e/boot_e2e.py

# DHCP and TFTP from dnsmasq on a bridge in network namespaces (root).
lab:
	python3 Tests/e2e/lab_e2e.py

ui:
	@if [ -f Tests/ui/test_ui.py ]; then python3 -m pytest -q Tests/ui; fi

bench:
	scripts/bench.sh

# libFuzzer (scripts/fuzz.sh): every target briefly, as CI does (in run-suites.sh); fuzz-long is the documented run
# of docs/security.md (a million inputs each, about an hour on two busy cores).
FUZZ_RUNS ?= 20000
fuzz:
	nice -n 10 scripts/fuzz.sh all $(FUZZ_RUNS)

fuzz-long:
	nice -n 10 scripts/fuzz.sh all 1000000
