# The two commands a user needs: `make dataset` (the main job) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_VERSION := 26.3
VERSION ?= $(shell $(PYTHON) -c "import re;print(re.search(r'^## \[(\d+\.\d+\.\d+)\]', open('CHANGELOG.md').read(), re.M).group(1))" 2>/dev/null)

.PHONY: dataset test check label label-stop bench system-deps clean

# Everything (the core, the dataset, test and bench extras) at the exact versions of constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q pip==$(PIP_VERSION)
	$(BIN)/pip install -q -c constraints.txt -e '.[dataset,test,bench]'
	touch $(STAMP)

## dataset: ingest the seeds, validate everything, build dist/raid-attack-events and load it back
SEEDS ?= ../shared/seeds

dataset: $(STAMP)
	@if [ -d "$(SEEDS)" ]; then $(BIN)/raidcorpus ingest $(SEEDS) --metadata corpus/sources.yaml --out corpus; \
	else echo "no $(SEEDS): using the committed corpus/"; fi
	$(BIN)/raidcorpus validate
	$(BIN)/raidcorpus build --version $(VERSION)
	$(BIN)/raidcorpus summary dist/raid-attack-events

## test: install everything the tests need (Chromium and Label Studio included), check the
## committed artefacts, and run the tests
test: $(STAMP) system-deps check
	$(BIN)/python -m pytest

## check: the code lints and every committed artefact is fresh: records valid, generated docs
## and Label Studio config current, every gold layer reproduced by its decisions (release
## manifests are checked by the tests, which rebuild the dataset)
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/raidcorpus validate
	$(BIN)/raidcorpus docs --check
	$(BIN)/raidcorpus ls-config --check
	$(BIN)/raidcorpus adjudicate --check

system-deps:
	bash scripts/install-system-deps.sh

## label: a local Label Studio with the corpus pushed into a project made from the schema
## label DB=postgresql: the same with Label Studio's database in a PostgreSQL cluster of the project's
DB ?= sqlite

label: $(STAMP)
	LABEL_STUDIO_DB=$(DB) bash scripts/label-studio.sh start

label-stop:
	LABEL_STUDIO_DB=$(DB) bash scripts/label-studio.sh stop

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) dist .pytest_cache
