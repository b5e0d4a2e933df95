# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edsim-installed
COMPARE_STAMP := $(VENV)/.edsim-compare-installed
export EDSIM_TABLE_DIR ?= $(CURDIR)/tables/cache
CSRC := $(wildcard csrc/*.c csrc/*.h csrc/*.def)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CTEST_BIN := csrc/tests/bin/test_core

.PHONY: all setup tables run test ctest pytest bench clean

all: run

$(STAMP): pyproject.toml setup.py edsim/_build.py $(CSRC)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel "cffi>=1.17"
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Generates the lookup tables the scenarios need, unless already cached.
tables: setup
	$(PY) -m edsim tables build IF_cond_exp cm=0.2 tau_m=20 v_rest=-60 v_thresh=-50 v_reset=-60 \
		tau_refrac=5 tau_syn_E=5 tau_syn_I=10 e_rev_E=0 e_rev_I=-80

run: tables
	$(PY) scenarios/coba.py --duration 1000 --out out

$(CTEST_BIN): csrc/tests/test_core.c $(CSRC)
	mkdir -p $(dir $@)
	cc -std=c11 -g -O1 -Wall -Wextra -Werror $(SAN) -Icsrc csrc/*.c csrc/tests/test_core.c -lm -o $@

ctest: $(CTEST_BIN)
	UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 ./$(CTEST_BIN)

pytest: tables
	$(PY) -m pytest -q

test: ctest pytest

# The comparison simulators (NEST, Brian2) as the optional extra `compare`: only `make bench` needs them.
$(COMPARE_STAMP): $(STAMP)
	$(PY) -m pip install -q --no-build-isolation -e '.[test,compare]'
	touch $(COMPARE_STAMP)

# edsim, NEST and Brian2 side by side: out/bench/bench.{json,md}, speed.png, sweep.png (about 9 min
# with the extra installed, 20 min on a fresh machine: Brian2 compiles its code once).
bench: tables $(COMPARE_STAMP)
	$(PY) -m edsim bench --out out/bench

clean:
	rm -rf $(VENV) build csrc/tests/bin edsim/_core*.so edsim/_core.c *.egg-info
