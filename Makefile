# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Only this machine can connect unless told otherwise: HOST=0.0.0.0 make run.
HOST   ?= 127.0.0.1

.PHONY: run test lint migrate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps make installs happen only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) -m db.migrate

# Migrates and, on a first start, prints the generated admin password here.
run: $(VENV)/.installed
	$(PY) -m core.prepare
	$(PY) -m streamlit run Home.py --server.address $(HOST) --server.port $(PORT)

# ruff, then mypy over core/ and db/ (configured in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -rs

bench: $(VENV)/.installed-dev
	$(PY) bench/durable_bench.py

clean:
	rm -rf $(VENV) data
