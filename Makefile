# The course's commands. Learners need two: `make lab` and `make test`.
# Everything runs inside a local virtual environment (.venv) built from requirements.lock
# (every package pinned with hashes, made from requirements.txt by `make lock`); it is
# (re)installed only when requirements.lock, requirements.txt or pyproject.toml change.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
# the course's Validate: its button, prebuilt (jupyterlab/validate/labextension; its README says how to
# rebuild it), and its server side (flowlib.course.lab_validate), switched on in the environment's settings;
# nbgrader's own Validate button is switched off (one Validate button)
LAB_VALIDATE := $(VENV)/share/jupyter/labextensions/@flowlib/validate
# the hub's proxy (deploy/jupyterhub): configurable-http-proxy, pinned by its package-lock.json
HUB_PROXY := deploy/jupyterhub/node_modules/.bin/configurable-http-proxy
# Downloads are off for the tests and the instructor's steps. flowlib's loaders are offline by
# themselves, so `make lab` leaves Hugging Face's defaults to the learner's own code.
OFFLINE_TARGETS := test release collect autograde feedback export doctor bench bench-notebooks student-edition site
$(OFFLINE_TARGETS): export HF_HUB_OFFLINE := 1
$(OFFLINE_TARGETS): export TRANSFORMERS_OFFLINE := 1

.PHONY: help lab test lint install lock hub site student-edition release collect autograde similarity feedback export bench bench-notebooks bench-grading bench-similarity doctor clean-venv

## lab: set up if needed, then open the course in JupyterLab (on notebooks/);
## Jupyter's own options go in ARGS: `make lab ARGS="--port 8899 --no-browser"`
lab: $(STAMP) $(LAB_SETTINGS) $(LAB_VALIDATE)
	$(BIN)/flowlib lab $(ARGS)

## test: set up if needed, then run the full test suite (flowlib, notebooks, grading round trip),
## on $(JOBS) pytest-xdist workers, a test file each at a time (JOBS=0: in this process; on 2 cores
## three workers keep both busy while one waits on a kernel or a browser: 19 min against 20 for two)
## (`make lint` runs first: a finding stops the suite before it starts)
JOBS ?= 3
test: $(STAMP) $(LAB_SETTINGS) $(LAB_VALIDATE) hub-proxy lint
	$(BIN)/python -m pytest --numprocesses $(JOBS) --dist loadfile

# the hub's proxy for `make hub` and tests/test_jupyterhub.py; without npm that test says it is skipped
.PHONY: hub-proxy
hub-proxy:
	@if [ -x $(HUB_PROXY) ] && [ $(HUB_PROXY) -nt deploy/jupyterhub/package-lock.json ]; then :; \
	elif command -v npm >/dev/null; then cd deploy/jupyterhub && npm ci --no-audit --no-fund --silent && touch node_modules/.bin/configurable-http-proxy; \
	else echo "npm not found: no configurable-http-proxy, so tests/test_jupyterhub.py is skipped"; fi

## hub: the course's JupyterHub on this machine, as root (deploy/jupyterhub/start; README: Teaching on JupyterHub):
## `sudo make hub INSTRUCTORS=alice` (Unix users who teach, comma-separated)
hub: hub-proxy
	FLOWLIB_HUB_INSTRUCTORS=$(INSTRUCTORS) deploy/jupyterhub/start

## lint: ruff's lint and format check on the code, mypy on flowlib/ (settings in pyproject.toml;
## `$(BIN)/ruff format .` and `$(BIN)/ruff check --fix .` repair what they can)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## help: these targets and what they do
help:
	@awk '/^## [a-z-]+:/ { sub(/^## /, ""); split($$0, part, ":"); printf "\n  make %-16s%s\n", part[1], substr($$0, length(part[1]) + 3); next } \
	     /^## / { sub(/^## /, ""); printf "  %-21s%s\n", "", $$0 }' $(MAKEFILE_LIST)

## install: build .venv from requirements.lock (what `make lab` and `make test` do first)
install: $(STAMP) $(LAB_SETTINGS) $(LAB_VALIDATE)

$(STAMP): $(LOCK) requirements.txt pyproject.toml
	PYTHON=$(PYTHON) LOCK=$(LOCK) sh tools/install.sh $(VENV)
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment nbgrader.server_extensions.assignment_list nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list >/dev/null
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader >/dev/null
	@touch $(STAMP)

# the course's JupyterLab settings (no news pop-up, ...: jupyterlab/overrides.json), as JupyterLab's defaults
$(LAB_SETTINGS): jupyterlab/overrides.json | $(STAMP)
	@mkdir -p $(@D)
	cp jupyterlab/overrides.json $@

$(LAB_VALIDATE): jupyterlab/validate/labextension/package.json jupyterlab/validate/jupyter_server_config.d/flowlib.course.lab_validate.json | $(STAMP)
	rm -rf $@ && mkdir -p $(@D) $(VENV)/etc/jupyter/jupyter_server_config.d
	cp -r jupyterlab/validate/labextension $@
	cp jupyterlab/validate/jupyter_server_config.d/flowlib.course.lab_validate.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:validate-assignment >/dev/null

## site: the lessons as a static website in build/site (student notebooks executed; MathJax fetched once with npm)
site: $(STAMP)
	$(BIN)/python -m flowlib.course.site --out build/site

## lock: re-make requirements.lock from the top-level pins in requirements.txt (pip-tools, in .venv-lock/)
lock:
	@test -x .venv-lock/bin/python || $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --disable-pip-version-check -q pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links --output-file $(LOCK) requirements.txt

## student-edition: what learners get, as a folder ready to be its own git repository
## (`make student-edition OUT=../transformers-course-student`; default build/student-edition)
OUT ?= build/student-edition
student-edition: $(STAMP)
	$(BIN)/flowlib instructor student-edition $(OUT)

# Instructor workflow (see README): regenerate notebooks/ from solutions/, grade, give feedback, export
## release: regenerate notebooks/ from solutions/ (`make release LESSONS=02_self_attention FORCE=1`)
release: $(STAMP)
	$(BIN)/flowlib instructor release $(LESSONS) $(if $(FORCE),--force)

## collect: `make collect FROM=download.zip` (a folder or .zip from the LMS) or `make collect EXCHANGE=/srv/nbgrader/exchange`
collect: $(STAMP)
	$(BIN)/flowlib instructor collect $(if $(EXCHANGE),--exchange $(EXCHANGE),$(FROM))

## autograde: grade the collected submissions in the sandbox into gradebook.db (LESSONS: which)
autograde: $(STAMP)
	$(BIN)/flowlib instructor autograde $(LESSONS)

## similarity: each learner's code answers against the others' and flowlib's source, into
## reports/similarity/<lesson>.html (autograde does it too; a flag for a person, no grade changes)
similarity: $(STAMP)
	$(BIN)/flowlib instructor similarity $(LESSONS)

## feedback: each learner's graded notebook as HTML feedback (LESSONS: which)
feedback: $(STAMP)
	$(BIN)/flowlib instructor feedback $(LESSONS)

## export: the gradebook as grades.csv
export: $(STAMP)
	$(BIN)/flowlib instructor export --to grades.csv

## doctor: check this machine and the course (environment, sandbox, gradebook) and say what is wrong
doctor: $(STAMP)
	$(BIN)/flowlib doctor

## bench: flowlib's speed against plain PyTorch, as ratios measured in the same run
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_flowlib.py
	$(BIN)/python benchmarks/bench_gpt_vs_plain.py
	$(BIN)/python benchmarks/bench_generation.py

## bench-notebooks: each student notebook from a fresh kernel, alone, against its 60 s budget
bench-notebooks: $(STAMP)
	$(BIN)/python benchmarks/bench_notebooks.py

## claims: the claims canary: every recipe behind a lesson's claim on 8 fresh seeds (never recorded ones;
## printed), in float32 and also bf16 where native; held/failed per claim (ARGS: e.g. `--only recall_seeds -n 2`)
.PHONY: claims
claims: export HF_HUB_OFFLINE := 1
claims: $(STAMP)
	$(BIN)/python recipes/claims.py $(ARGS)

## bench-grading: per lesson: seconds per submission in full and sliced, submissions per minute with
## 1 and N jobs, overhead per submission (ARGS="--lesson 02_self_attention" for one lesson)
bench-grading: $(STAMP)
	$(BIN)/python benchmarks/bench_grading.py $(ARGS)

## bench-similarity: the similarity report on the course's own cases: honest answers and disguised
## copies flagged, per exercise, and the time to compare a lesson for 300 learners
bench-similarity: $(STAMP)
	$(BIN)/python benchmarks/bench_similarity.py

## clean-venv: remove .venv (the next make builds it again)
clean-venv:
	rm -rf $(VENV)
