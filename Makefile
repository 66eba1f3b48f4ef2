# Front door: make run | make test | make bench | make build | make asan
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: all build deps run test test-asan asan bench clean

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

bench: build
	@packaging/deps.sh bench
	bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
