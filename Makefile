# g1_diffusion — the two commands: `make demo` and `make test`.
.PHONY: setup demo test bench build fmt lint

CARGO ?= cargo

# Installs the pinned native libraries (ONNX Runtime, MuJoCo) and Python test peers from PyPI
# wheels into .venv/ and .deps/ (git-ignored). Idempotent.
setup:
	bash scripts/setup.sh

build: setup
	$(CARGO) build --release -p g1d

# The main job: the diffusion controller (shipped model) walks the simulated G1 to a waypoint
# around obstacles; progress, outcome, out/demo/top_view.png and the rosbag2 out/demo/bag
# (replacing those of the previous `make demo`).
demo: build
	./target/release/g1d demo --force

test: setup
	$(CARGO) test --workspace

bench: build
	./target/release/g1d bench sim
	./target/release/g1d bench model --shipped

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings
