# Each target does its own set-up on a fresh machine: a .venv, then the package with its test
# extras (export: safetensors, onnx, onnxruntime, sentence-transformers, which the export tests
# load), installed under constraints.txt (pins torch; an unpinned torch can pull a multi-GB build).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,text,image-text,export]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/contrastkit demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

test: lint
	$(BIN)/python -m pytest -m "not slow" --doctest-modules src tests -q
	$(BIN)/python -m pytest -m slow tests -q || [ $$? -eq 5 ]  # 5: no slow tests collected

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
