# Front door: make run | make test | make bench | make build | make asan | make tsan | make fuzz
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 600
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: all build deps run test test-asan asan tsan test-tsan bench fuzz clean

all: build

deps:
	@packaging/deps.sh test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHN_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Starts the built-in demo: demo target + example plugin, with the dashboard.
run: build
	./$(BUILD)/hornet --demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHN_ASAN=ON -DHN_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

test-asan: asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHN_TSAN=ON -DHN_WERROR=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)

# ThreadSanitizer on the tests labelled tsan (tests/CMakeLists.txt); a race
# stops the process (exit 66). tests/tsan.supp names the uninstrumented
# libraries whose own internals it cannot follow.
test-tsan: tsan
	cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  ctest --output-on-failure -j $(JOBS) -L tsan

# libFuzzer harnesses (tests/fuzz, clang), each run FUZZ_TIME seconds.
fuzz: deps
	@CC=clang cmake -S tests/fuzz -B $(FUZZ_BUILD) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME)

bench: build
	@packaging/deps.sh bench
	bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
