# The CLIP-RL book. `make book` and `make test` set everything up themselves.
# Needs only Python 3.11, 3.12 or 3.13 on the machine; everything else goes into .venv.

# The newest supported Python found on the PATH (a name that exists but does not run, such as
# a pyenv shim of a version not selected, is passed over); `make PYTHON=/path/to/python3.12`
# chooses another.
SUPPORTED_PYTHONS := 3.13 3.12 3.11
PYTHON ?= $(shell for v in $(SUPPORTED_PYTHONS); do p=$$(command -v python$$v) && \
  $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; exit 0; }; done; command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
# Every package of the venv at its tested version (make lock writes it).
LOCK   := constraints.txt
# torch from PyTorch's CPU wheel index (about 190 MB on Linux x86-64); where it cannot be
# reached, or with TORCH_INDEX= (empty), from the default index, whose Linux build is the
# CUDA one (several GB). The lock pins torch's version either way.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH := torch==2.13.0
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile -c $(LOCK)
# The venv is stamped on the pin files: nothing changed -> nothing reinstalled.
STAMP  := $(VENV)/.installed-stamp

export HF_HUB_OFFLINE := 1
# Reference numerics (cliprl_helpers.core.numerics): the same bits on every x86-64 CPU. The package
# sets these itself when imported; exporting them here also pins any process that computes
# before importing it. `make book CLIPRL_NUMERICS=native` computes with this CPU's own kernels.
CLIPRL_NUMERICS ?= reference
export CLIPRL_NUMERICS
ifeq ($(CLIPRL_NUMERICS),reference)
  export MKL_CBWR := COMPATIBLE
  export ATEN_CPU_CAPABILITY := default
  export ONEDNN_MAX_CPU_ISA := SSE41
  # numpy's SIMD loops capped at AVX2 (numpy reads this when it is imported)
  export NPY_DISABLE_CPU_FEATURES := X86_V4,AVX512_ICL,AVX512_SPR
endif
export TRANSFORMERS_OFFLINE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

PHONY_EXTRA := unit-sweep unit-fast book-test store lab robustness nbval-foreign reproduce \
  publish results-status restamp book-chapters lock
.PHONY: all venv book test unit $(PHONY_EXTRA) nbval nbval-test bookbuild bench lint clean help sweep chromium

help:
	@echo "make book   build the website into _build/html from the published results (sets up .venv first)"
	@echo "make test   run unit tests, nbval on every notebook and a -W book build"
	@echo "make reproduce  recompute every published result (results/) from an empty cache and compare"
	@echo "make publish    recompute every published result and write results/"
	@echo "make restamp    after a change that keeps the numbers: recompute a slice of each result, stamp it current"
	@echo "make sweep  run the experiment over grid sizes 8 10 15 25 with papermill (runs/)"
	@echo "make bench  print the speed ratios of the batched code"
	@echo "make robustness  run chapter 9's full study (every choice varied alone; runs/robustness)"
	@echo "make lab    open the chapters in JupyterLab (installed into .venv on first use)"
	@echo "make store NB=notebooks/<chapter>.ipynb  re-store the outputs nbval compares"
	@echo "make lock   re-resolve constraints.txt (every package's version; UPGRADE=1 to move them)"
	@echo "make clean  remove _build/ (keeps .venv/, runs/, artifacts/)"

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "No Python found: the book needs Python 3.11, 3.12 or \
	3.13 (python3.13, python3.12 or python3.11 on the PATH, or make PYTHON=/path/to/python)" \
	>&2; exit 2; }
	@$(PYTHON) -c 'import sys; ok = (3, 11) <= sys.version_info[:2] <= (3, 13); \
	  ok or print("Python 3.11, 3.12 or 3.13 is needed; found {} at {} (give one with \
	make PYTHON=/path/to/python3.x)".format(sys.version.split()[0], sys.executable), \
	  file=sys.stderr); sys.exit(0 if ok else 2)'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@a=$$($(PY) -c 'import sys; print(sys.version.split()[0])'); \
	  b=$$($(PYTHON) -c 'import sys; print(sys.version.split()[0])'); \
	  test "$${a%.*}" = "$${b%.*}" || echo "note: .venv is Python $$a, kept ($(PYTHON) is \
	$$b; rm -rf .venv to rebuild it with that one)"
	@echo "== installing torch first ($(TORCH), the CPU build where PyTorch's CPU index is reachable) =="
	@if [ -n "$(TORCH_INDEX)" ] && $(PY) -c 'import sys, urllib.request; \
	    urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=15)' "$(TORCH_INDEX)" \
	    2>/dev/null; then \
	  $(PIP) --index-url $(TORCH_INDEX) $(TORCH); \
	else \
	  test -z "$(TORCH_INDEX)" || echo "   PyTorch's CPU index ($(TORCH_INDEX)) cannot be \
	reached: torch comes from the default index (on Linux x86-64 the CUDA build, several GB, \
	unless a CPU wheel is found locally)"; \
	  $(PIP) $(TORCH); \
	fi
	@echo "== installing the book's locked dependencies ($(LOCK)) =="
	$(PIP) -e ".[dev]"
	@# Bytecode is compiled here, on both cores, rather than file by file inside pip (where
	@# PYTHONDONTWRITEBYTECODE is set, nothing is compiled later). A few data files that are
	@# not Python 3 are skipped, as pip skips them.
	@echo "== compiling the installed packages =="
	@$(PY) -m compileall -q -j 2 "$$($(PY) -c 'import sysconfig; \
	  print(sysconfig.get_paths()["purelib"])')" > /dev/null || true
	@touch $(STAMP)

# The lock: every package of the book's environment, for every supported Python, resolved
# with uv from pyproject.toml; versions already in the lock are kept unless UPGRADE=1.
UV := uv==0.9.30
lock: $(STAMP)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check $(UV)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o $(LOCK) --quiet
	@echo "wrote $(LOCK): $$(grep -c '==' $(LOCK)) pins (git diff $(LOCK) shows what moved)"

# A sweep of your own (4 grid sizes x 2 readings x TRIALS trials) into runs/; finished runs are
# reused. TRIALS=10 is the paper's design (the book publishes 30: results/headline.csv). Chapter 6
# reads it with source = "../runs/summary.csv".
TRIALS ?= 10
sweep: $(STAMP)
	$(PY) -m cliprl_helpers.repro.sweep --jobs 2 --trials $(TRIALS)

# The robustness study of chapter 9: every choice of cliprl_helpers.repro.robustness.CHOICES varied
# alone, 4 grid sizes x 2 readings x TRIALS trials, into runs/robustness (finished runs are
# reused). The book shows its published study; chapter 9 reads yours with
# source = "../runs/robustness/summary.csv".
robustness: $(STAMP)
	$(PY) -m cliprl_helpers.repro.robustness --jobs 2 --trials $(TRIALS)

# Executed notebooks are cached in _build/.jupyter_cache, keyed by their code only: a change to
# the package must drop that cache, or pages would show results of the old code.
PKG_STAMP := _build/.package-stamp
$(PKG_STAMP): $(wildcard cliprl_helpers/*.py cliprl_helpers/*/*.py)
	rm -rf _build/.jupyter_cache _build/.doctrees
	@mkdir -p _build && touch $@

# make book renders the published results (results/): it checks first that they are current
# (the code that computed them is this checkout's; otherwise it stops and names the command
# that recomputes them), executes the chapters with papermill on both cores (a chapter is
# re-executed only when it, the package or results/ changed), then builds the website from
# those executions (warnings are errors).
BOOK_EXECUTED := _build/book-executed
CHAPTERS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
BOOK_RUNS := $(patsubst notebooks/%,$(BOOK_EXECUTED)/%,$(CHAPTERS))

$(BOOK_EXECUTED)/%.ipynb: notebooks/%.ipynb $(PKG_STAMP) results/manifest.json
	@mkdir -p $(BOOK_EXECUTED)
	@echo "== executing $< =="
	@$(PY) -m papermill --no-progress-bar --cwd notebooks -k python3 $< $@.tmp.ipynb \
	  > $@.log 2>&1 || { tail -n 40 $@.log; rm -f $@.tmp.ipynb; exit 1; }
	@mv $@.tmp.ipynb $@
	@echo "   done: $@"

book-chapters: $(BOOK_RUNS)

book: $(STAMP) $(PKG_STAMP)
	$(PY) -m cliprl_helpers.repro.reproduce status
	$(MAKE) --no-print-directory -j2 book-chapters
	$(PY) tools/notebook_test.py stage $(BOOK_EXECUTED)
	$(VENV)/bin/jupyter-book build _build/staged --path-output . -W -n --keep-going
	$(PY) tools/readme_results.py published README.md
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

# The published results: make reproduce recomputes every one from an empty cache of its own
# (runs/reproduce/; resumable after Ctrl-C) and compares it with results/ row by row;
# make publish writes what it computed. SCHEDULER=tcp://host:8786 runs them on a real cluster;
# ONLY="ch07 ch08" (names from `make results-status`) computes only those.
RESULT_ENGINE = --jobs 2 $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(ONLY),--only $(ONLY))
reproduce: $(STAMP)
	$(PY) -m cliprl_helpers.repro.reproduce reproduce $(RESULT_ENGINE)

publish: $(STAMP)
	$(PY) -m cliprl_helpers.repro.reproduce publish $(RESULT_ENGINE)

results-status: $(STAMP)
	$(PY) -m cliprl_helpers.repro.reproduce status

# After a change to the computing code that keeps the numbers: recompute a slice of every
# stale published result (cliprl_helpers.repro.restamp; trial 0 of every size, method,
# reading and specification) and, only if every row is identical to the bit, record the code
# as current by re-stamp. ONLY="headline ladder" re-stamps those.
restamp: $(STAMP)
	$(PY) -m cliprl_helpers.repro.restamp --jobs 2 $(if $(ONLY),--only $(ONLY))

bookbuild: $(STAMP) $(PKG_STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# The browser test drives Chromium through Selenium and the system chromedriver; install the
# Debian packages when they are missing and we can.
chromium:
	@{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } && \
	  { command -v chromedriver >/dev/null 2>&1 || test -x /usr/lib/chromium/chromedriver; } || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    echo "== installing chromium and chromedriver for the browser test ==" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    chromium-driver >/dev/null; } || \
	  echo "chromium/chromedriver not installed: the browser test will be skipped"

# make test: unit tests and nbval in parallel (two cores, one torch thread each); nbval
# executes every chapter once (heavy ones at their test parameters) and conftest.py keeps
# those executions in _build/executed/; the -W -n book build renders them (no second
# execution); then the browser test opens the pages.
test:
	$(MAKE) --no-print-directory -j2 $(STAMP) chromium
	rm -rf _build/executed _build/staged _build/html _build/screenshots runs/quick-foreign
	@mkdir -p _build
	$(PY) tools/notebook_test.py prepare > _build/nbtest.list
	$(PY) tools/notebook_test.py foreign > _build/nbforeign.list
	$(MAKE) --no-print-directory -j2 -O unit-sweep book-test unit-fast nbval-foreign

# The book built from nbval's executions (warnings are errors), then opened in the browser;
# in make test it starts as soon as nbval is done, beside the remaining unit tests.
book-test: nbval-test
	$(PY) tools/notebook_test.py stage
	$(VENV)/bin/jupyter-book build _build/staged --path-output . -W -n --keep-going
	$(PY) -m pytest tests/test_browser.py -p no:cacheprovider

unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/test_browser.py -p no:cacheprovider

# make test runs the unit tests in two parts: the sweep's (Dask clusters, papermill runs)
# beside nbval, then the rest on whichever core is free first.
unit-sweep: $(STAMP)
	$(PY) -m pytest tests/test_sweep.py tests/test_published_slice.py tests/test_restamp.py \
	  -p no:cacheprovider

unit-fast: $(STAMP) lint
	$(PY) -m pytest tests --ignore=tests/test_browser.py --ignore=tests/test_sweep.py \
	  --ignore=tests/test_published_slice.py --ignore=tests/test_restamp.py \
	  -p no:cacheprovider

nbval-test: $(STAMP)
	CLIPRL_EXECUTED_DIR=_build/executed $(PY) -m pytest $$(cat _build/nbtest.list) \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider

# The chapters whose compared outputs are reference checks, once more with the reference pins
# off, under a kernel path no reference machine takes: native numerics, torch at its baseline
# capability, MKL without its reproducible branch on its SSE4.2 path, oneDNN on. Their compared
# outputs must still match (cliprl_helpers.repro.reference: within each check's tolerance).
FOREIGN_KERNELS := CLIPRL_NUMERICS=native ATEN_CPU_CAPABILITY=default \
  MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
nbval-foreign: $(STAMP)
	env -u MKL_CBWR -u NPY_DISABLE_CPU_FEATURES $(FOREIGN_KERNELS) MPLBACKEND=agg $(PY) -m pytest $$(cat _build/nbforeign.list) \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider

nbval: $(STAMP)
	$(PY) -m pytest notebooks/[0-9]*.ipynb --nbval-lax --nbval-current-env --nbval-cell-timeout=900

# JupyterLab for reading and editing the chapters interactively; installed on first use only
# (pinned), so `make test` and `make book` stay lean.
JUPYTERLAB := jupyterlab==4.6.6
lab: $(STAMP)
	@test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install --quiet --disable-pip-version-check $(JUPYTERLAB)
	$(VENV)/bin/jupyter lab notebooks/

# Refresh the outputs a chapter stores (the ones nbval compares) after editing it:
#   make store NB=notebooks/05_clip_transfer.ipynb
store: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make store NB=notebooks/<chapter>.ipynb" >&2; exit 2; }
	HF_HUB_OFFLINE=1 $(PY) tools/store_outputs.py $(NB)

bench: $(STAMP)
	$(PY) -m benchmarks.run

# The package's three layers (import-linter contracts in pyproject.toml: core <- analysis <-
# repro, no import cycles) and ruff on everything, the chapters' code cells included (88
# columns: notebooks/ruff.toml).
lint: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check cliprl_helpers tests benchmarks tools book/_ext conftest.py notebooks
	$(VENV)/bin/ruff format --check --quiet notebooks

clean:
	rm -rf _build
