# The two set-up commands of the README:
#   make run    builds everything, signs the sample driver and runs it
#   make test   builds everything with sanitizers and runs every test
# Both install what they need first (scripts/setup.sh, Debian packages).
BUILD ?= build
TEST_BUILD ?= build-test
JOBS ?= $(shell nproc)
KMHOST = $(BUILD)/kmhost
RUN_HOME = $(abspath $(BUILD))/home

.PHONY: all setup build run test tsan bench fuzz clean

all: build

setup:
	@scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

run: build
	@scripts/run-sample.sh $(BUILD)

TSAN_BUILD ?= build-tsan

# Every test under ASan/UBSan, then the dispatcher's (the conformance and
# stress drivers) under ThreadSanitizer, the conformance drivers there without
# the verifier (its checks change which paths the dispatcher takes).
test: setup
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKM_SANITIZE=ON >/dev/null
	cmake --build $(TEST_BUILD) -j$(JOBS)
	ctest --test-dir $(TEST_BUILD) --output-on-failure -j$(JOBS)
	$(MAKE) --no-print-directory tsan

tsan: setup
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKM_TSAN=ON -DKM_TEST_VERIFIER=none >/dev/null
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target kmhost drivers
	ctest --test-dir $(TSAN_BUILD) --output-on-failure -j$(JOBS) -R '^(setup|conf|sample|stress)\.'

bench: build
	cmake --build $(BUILD) --target bench

# Each fuzz harness for FUZZ_SECONDS (fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz: setup
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(TSAN_BUILD)
