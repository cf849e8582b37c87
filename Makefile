# The two commands of README.md, and the pieces they are made of.
.PHONY: run test build unit api contract e2e ui bench

DATA ?= ./data
LISTEN ?= 127.0.0.1:8082

run:
	scripts/install-deps.sh build
	swift build
	.build/debug/bootgate serve --listen $(LISTEN) --data $(DATA) --examples ./examples --power-control false

test: build unit api contract e2e ui

build:
	scripts/install-deps.sh test
	swift build --build-tests

unit:
	swift test --skip-build

api:
	python3 -m pytest -q Tests/api
	python3 -m pytest -q Tests/mkube
	python3 -m pytest -q Tests/kickstart

contract:
	Tests/contract/run.sh

e2e:
	python3 Tests/e2e/boot_e2e.py
	python3 Tests/e2e/lab_e2e.py

ui:
	@if [ -f Tests/ui/test_ui.py ]; then python3 -m pytest -q Tests/ui; fi

bench:
	scripts/bench.sh
