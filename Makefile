# cidrotor. On a fresh Debian 12 machine:
#   make run     build, set up .env and a sample pool, serve on 127.0.0.1:8000
#   make test    build and run every test (unit, store, e2e)
# Other targets: deps (install the Debian packages the build needs; make test adds the servers
# and browser its tests start), build (release binary: build/cidrotor), bench (benchmarks;
# installs wrk, nginx-light, curl and bc), clean.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test run bench clean

all: build

deps:
	@scripts/bootstrap.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@scripts/bootstrap.sh test
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2 --timeout 300

run: build
	@scripts/run.sh

bench:
	@scripts/bootstrap.sh bench
	@$(MAKE) --no-print-directory build
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
