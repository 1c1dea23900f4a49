# The two set-up commands of the README:
#   make run    builds everything, signs the sample driver and runs it
#   make test   builds everything with sanitizers and runs every test
# Both install what they need first (scripts/setup.sh, Debian packages).
BUILD ?= build
TEST_BUILD ?= build-test
JOBS ?= $(shell nproc)
KMHOST = $(BUILD)/kmhost
RUN_HOME = $(abspath $(BUILD))/home

.PHONY: all setup build run test tsan bench clean

all: build

setup:
	@scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

run: build
	@scripts/run-sample.sh $(BUILD)

test: setup
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKM_SANITIZE=ON >/dev/null
	cmake --build $(TEST_BUILD) -j$(JOBS)
	ctest --test-dir $(TEST_BUILD) --output-on-failure -j$(JOBS)

bench: build
	cmake --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
