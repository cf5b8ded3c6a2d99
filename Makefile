# The course's commands. Learners need two: `make lab` and `make test`.
# Everything runs inside a local virtual environment (.venv) built from requirements.txt;
# it is (re)installed only when requirements.txt or pyproject.toml change.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: lab test install release collect autograde feedback export bench doctor clean-venv

## lab: set up if needed, then open the course in JupyterLab (on notebooks/)
lab: $(STAMP)
	$(BIN)/flowlib lab

## test: set up if needed, then run the full test suite (flowlib, notebooks, grading round trip)
test: $(STAMP)
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment nbgrader.server_extensions.assignment_list nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list >/dev/null
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader >/dev/null
	@touch $(STAMP)

## Instructor workflow (see README): regenerate notebooks/ from solutions/, grade, give feedback, export
release: $(STAMP)
	$(BIN)/flowlib instructor release $(LESSONS)

## collect: `make collect FROM=download.zip` (a folder or .zip from the LMS) or `make collect EXCHANGE=/srv/nbgrader/exchange`
collect: $(STAMP)
	$(BIN)/flowlib instructor collect $(if $(EXCHANGE),--exchange $(EXCHANGE),$(FROM))

autograde: $(STAMP)
	$(BIN)/flowlib instructor autograde $(LESSONS)

feedback: $(STAMP)
	$(BIN)/flowlib instructor feedback $(LESSONS)

export: $(STAMP)
	$(BIN)/flowlib instructor export --to grades.csv

doctor: $(STAMP)
	$(BIN)/flowlib doctor

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_flowlib.py

clean-venv:
	rm -rf $(VENV)
