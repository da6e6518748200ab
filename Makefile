# g1_diffusion — the two commands: `make demo` and `make test`.
.PHONY: setup demo test bench build fmt lint

CARGO ?= cargo

# Installs the pinned native libraries (ONNX Runtime, MuJoCo) and Python test peers from PyPI
# wheels into .venv/ and .deps/ (git-ignored). Idempotent.
setup:
	bash scripts/setup.sh

build: setup
	$(CARGO) build --release -p g1d

# Until the diffusion controller exists: the shipped walking policy in the simulator.
demo: build
	./target/release/g1d sim --policy assets/policies/velocity_mjlab --command 0.5,0,0 --seconds 10
	./target/release/g1d sim --policy assets/policies/velocity_mjlab --command 0.5,0,0.8 --seconds 10

test: setup
	$(CARGO) test --workspace

bench: build
	./target/release/g1d bench sim
	./target/release/g1d bench model

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings
