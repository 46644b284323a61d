# The two commands a user needs: `make dataset` (the main job) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_VERSION := 26.3
VERSION ?= $(shell $(PYTHON) -c "import re;print(re.search(r'^## \[(\d+\.\d+\.\d+)\]', open('CHANGELOG.md').read(), re.M).group(1))" 2>/dev/null)

.PHONY: dataset test check label label-stop bench baseline system-deps clean

# Everything (the core, the dataset, test and bench extras) at the exact versions of constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q pip==$(PIP_VERSION)
	$(BIN)/pip install -q -c constraints.txt -e '.[dataset,test,bench]'
	touch $(STAMP)

## dataset: ingest the MUC-3/4 messages of sources/ (and the seeds, when there), validate everything,
## build dist/raid-attack-events and load it back; ingesting what is already in corpus/ is a no-op
SEEDS ?= ../shared/seeds
MUC ?= sources/muc34/TASK/CORPORA

dataset: $(STAMP)
	$(BIN)/raidcorpus ingest $(MUC) --out corpus
	@if [ -d "$(SEEDS)" ]; then $(BIN)/raidcorpus ingest $(SEEDS) --metadata corpus/sources.yaml --out corpus; \
	else echo "no $(SEEDS): using the seed records committed in corpus/"; fi
	$(BIN)/raidcorpus keys
	$(BIN)/raidcorpus validate
	$(BIN)/raidcorpus build --version $(VERSION)
	$(BIN)/raidcorpus summary dist/raid-attack-events

## test: install everything the tests need (Chromium and Label Studio included), check the
## committed artefacts, and run the tests
test: $(STAMP) system-deps check
	$(BIN)/python -m pytest

## check: the code lints and every committed artefact is fresh: records valid, generated docs
## and Label Studio config current, every gold layer reproduced by its decisions, the guidelines
## quoting no test document, the MUC sample list made by its script (release manifests are
## checked by the tests, which rebuild the dataset)
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/vulture src/ tests/vulture_whitelist.py --min-confidence 60
	$(BIN)/raidcorpus validate
	$(BIN)/raidcorpus docs --check
	$(BIN)/raidcorpus ls-config --check
	$(BIN)/raidcorpus adjudicate --check
	$(BIN)/raidcorpus guidelines --check GUIDELINES.md docs/annotating-muc.md
	$(BIN)/python scripts/muc-sample.py --check

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

## baseline: train the CPU baseline for MUC-4 REE on train, predict test, score it (not part of `make test`;
## about half an hour on 2 cores). It overwrites baseline/preds-test.json, the committed predictions.
BASELINE_WORK := baseline/work

baseline: $(STAMP)
	$(BIN)/python baseline/ree_ner.py prepare sources/grit/train.json sources/grit/dev.json $(BASELINE_WORK)
	/usr/bin/time -v -o $(BASELINE_WORK)/train.time $(BIN)/python -m spacy train baseline/config.cfg \
		--paths.train $(BASELINE_WORK)/train.spacy --paths.dev $(BASELINE_WORK)/dev.spacy --output $(BASELINE_WORK)/model
	grep -E "Elapsed|Maximum resident" $(BASELINE_WORK)/train.time
	$(BIN)/python baseline/ree_ner.py predict $(BASELINE_WORK)/model/model-best sources/grit/test.json baseline/preds-test.json
	$(BIN)/raidcorpus score --metric ree --gold sources/grit/test.json --pred baseline/preds-test.json

clean:
	rm -rf $(VENV) dist .pytest_cache
