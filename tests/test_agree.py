"""agree: metric functions against hand-computed values, and the command on tiny hand-made layers."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import agree
from raidcorpus.agree import measures
from raidcorpus.cli import app
from agree_layers import DATA, DOC, copy_project, edit_layer, layer_path
from raidcorpus.errors import UserError



@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)





def retype_verviers(record: dict) -> None:
    for ent in record["entities"]:
        if ent["text"] == "Verviers":
            ent["type"] = "LOC"
    for ev in record["events"]:
        for arg in ev["arguments"]:
            if arg["role"] == "Place":
                arg["type"] = "LOC"


def police_named(record: dict) -> None:
    for ent in record["entities"]:
        if ent["text"] == "Police":
            ent["attributes"]["mention"] = "NAM"


def run(project: Path, *args: str) -> dict:
    return agree.agree([project / "annotations", *args], project / "corpus")


def row(rows: list[dict], measure: str, label: str = "all") -> dict:
    return next(r for r in rows if r["measure"] == measure and r["label"] == label)


def pair(r: dict) -> dict:
    assert len(r["pairs"]) == 1
    return r["pairs"][0]


# -- Krippendorff's unitizing alpha: worked examples with published values --------------------


def test_fixture_hashes_match_their_texts():
    for path in (DATA / "corpus").glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert hashlib.sha256(record["text"].encode("utf-8")).hexdigest() == record["sha256"]


def test_unitizing_alpha_reproduces_krippendorff_2004_example():
    # Krippendorff (2004), Content Analysis 2nd ed., p. 254: continuum 150..450, two coders,
    # category c: coder i 225+70, 370+30; coder j 220+80, 355+20, 400+20; category k identical.
    c = measures.unitizing_tally([[(225, 295), (370, 400)], [(220, 300), (355, 375), (400, 420)]], 150, 450)
    k = measures.unitizing_tally([[(180, 240), (300, 350)], [(180, 240), (300, 350)]], 150, 450)
    # Do(c) = (5^2+5^2 + 15^2+25^2 + 20^2) / 300^2 = 1300 / 90000: pairs (225,70)~(220,80): 50,
    # (370,30)~(355,20): 850, unit (400,20) inside the other coder's gap 400..450: 20^2 = 400.
    assert c.disagreements()[0] == pytest.approx(1300 / 90000)
    assert c.disagreements()[1] == pytest.approx(0.0532, abs=1e-4)
    assert k.disagreements() == (0.0, pytest.approx(0.0490, abs=1e-4))
    assert measures.unitizing_alpha([c])[0] == pytest.approx(0.7286, abs=1e-4)
    assert measures.unitizing_alpha([k])[0] == 1.0
    assert measures.unitizing_alpha([c, k])[0] == pytest.approx(0.859, abs=5e-4)


@pytest.mark.parametrize(
    "coder_a, coder_b, observed, alpha",
    [
        # Krippendorff (1995), Sociological Methodology 25, p. 57: pairs A, B and D on 24 units of time
        ([(2, 8), (14, 6)], [(4, 4), (15, 2)], 0.03125, 0.553),
        ([(0, 18)], [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (9, 1)], 2.26736, -0.926),
        ([(0, 2), (2, 8), (10, 4), (14, 6), (20, 4)], [(0, 4), (4, 4), (8, 7), (15, 2), (17, 7)], 0.38715, 0.066),
    ],
)
def test_unitizing_alpha_reproduces_krippendorff_1995_examples(coder_a, coder_b, observed, alpha):
    # Observed disagreement does not depend on the scale; the published expected values are for a
    # fine-grained continuum, hence the stretch (units of 1/50000).
    small = measures.unitizing_tally([[(b, b + n) for b, n in coder_a], [(b, b + n) for b, n in coder_b]], 0, 24)
    assert small.disagreements()[0] == pytest.approx(observed, abs=1e-5)
    s = 50_000
    fine = measures.unitizing_tally([[(b * s, (b + n) * s) for b, n in coder_a], [(b * s, (b + n) * s) for b, n in coder_b]], 0, 24 * s)
    assert measures.unitizing_alpha([fine])[0] == pytest.approx(alpha, abs=0.005)


def _expected_from_lists(m: int, big_l: int, units: list[int], gaps: list[int]) -> float:
    # Krippendorff (2004) expected disagreement, term by term over every unit and gap (the direct formula)
    n = len(units)
    num = sum((n - 1) / 3 * (2 * lg**3 - 3 * lg**2 + lg) + lg * lg * sum(g - lg + 1 for g in gaps if g >= lg) for lg in units)
    return num * 2 / big_l / (m * big_l * (m * big_l - 1) - sum(lg * (lg - 1) for lg in units))


def test_unitizing_tallies_summed_over_documents_stay_small():
    # many documents' tallies summed keep one count per length (memory does not grow with the
    # corpus) and give the direct formula's figures over every unit and gap of every document
    docs = [([(225, 295), (370, 400)], [(220, 300), (355, 375), (400, 420)]), ([(180, 240), (300, 350)], [(180, 240), (300, 351)])]
    one = [measures.unitizing_tally([*d], 150, 450) for d in docs]
    assert sorted(one[0].units.elements()) == [20, 20, 30, 70, 80] and sorted(one[0].gaps.elements()) == [25, 30, 50, 55, 70, 75, 75]
    total = measures.unitizing_tally([*docs[0]], 150, 450)
    for i in range(1, 400):
        total.add(measures.unitizing_tally([*docs[i % 2]], 150, 450))
    units = [lg for i in range(400) for lg in one[i % 2].units.elements()]
    gaps = [g for i in range(400) for g in one[i % 2].gaps.elements()]
    assert total.length == 400 * 300 and sum(total.units.values()) == len(units) and sum(total.gaps.values()) == len(gaps)
    assert len(total.units) <= 7 and len(total.gaps) <= 11
    assert total.disagreements()[1] == pytest.approx(_expected_from_lists(2, 400 * 300, units, gaps), rel=1e-12)


def test_unitizing_alpha_edge_cases():
    same = measures.unitizing_tally([[(3, 7)], [(3, 7)], [(3, 7)]], 0, 20)
    assert measures.unitizing_alpha([same])[0] == 1.0
    assert measures.unitizing_alpha([measures.unitizing_tally([[], []], 0, 20)])[0] is None  # nothing marked: n/a
    # touching units stay two units; overlapping ones merge
    assert measures.segments([(0, 2), (2, 4)], 0, 6) == [(0, 2, True), (2, 2, True), (4, 2, False)]
    assert measures.segments([(0, 3), (2, 4)], 0, 6) == [(0, 4, True), (4, 2, False)]


# -- the other pure metrics ----------------------------------------------------------------


def test_cohen_kappa_and_krippendorff_alpha_by_hand():
    # 9 items, one disagreement: po = 8/9; marginals NAM 3/4, NOM 6/5; pe = (3*4 + 6*5)/81 = 42/81;
    # kappa = (72/81 - 42/81) / (39/81) = 30/39 = 10/13
    a = ["NOM", "NOM", "NAM", "NAM", "NOM", "NOM", "NOM", "NOM", "NAM"]
    b = ["NAM"] + a[1:]
    assert measures.cohen_kappa(list(zip(a, b))) == pytest.approx(10 / 13)
    assert measures.cohen_kappa([("x", "x"), ("x", "x")]) is None  # chance agreement 1: n/a, not 1.0
    assert measures.cohen_kappa([]) is None
    # three coders, a third identical to the first: n_NOM = 17, n_NAM = 10, n = 27; one item
    # {NOM, NAM, NOM} gives o(NOM,NAM) + o(NAM,NOM) = 2; alpha = 1 - (n-1) * 2 / (2 * 17 * 10) = 1 - 52/340
    assert measures.krippendorff_alpha(list(zip(a, b, a))) == pytest.approx(1 - 52 / 340)
    assert measures.krippendorff_alpha([("x", "x", None)]) is None


def _package_alpha(items: list[tuple]) -> float:
    """Nominal alpha by the krippendorff package, from a units-by-values count matrix."""
    import krippendorff
    import numpy as np

    values = sorted({v for it in items for v in it if v is not None}, key=repr)
    code = {v: i for i, v in enumerate(values)}
    counts = np.zeros((len(items), len(values)))
    for u, it in enumerate(items):
        for v in it:
            if v is not None:
                counts[u, code[v]] += 1
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def test_nominal_alpha_equals_the_package():
    import random

    rng = random.Random(7)
    items = [tuple(rng.choice(["a", "b", "c", None]) for _ in range(3)) for _ in range(300)]
    assert measures.krippendorff_alpha(items) == pytest.approx(_package_alpha(items), abs=1e-9)
    # a Counter of items gives the same alpha as the list it counts
    assert measures.krippendorff_alpha(Counter(items)) == pytest.approx(_package_alpha(items), abs=1e-9)
    many = [(i, i, i % 7 and i) for i in range(400)]  # 400 distinct values, as normalized dates give
    assert measures.krippendorff_alpha(many) == pytest.approx(_package_alpha(many), abs=1e-9)
    assert 0.8 < measures.krippendorff_alpha(many) < 1


def test_muc_and_b_cubed_by_hand():
    key = [{"a", "b", "c"}]
    response = [{"a", "b"}]
    assert measures.muc(key, response) == (1, 2)  # 3 - |{ab, c}| = 1 of 2 links found
    assert measures.muc(response, key) == (1, 1)
    p, r, n = measures.b_cubed(key, response, ["a", "b", "c", "d"])
    # a, b: P = 2/2, R = 2/3; c: P = 1/1, R = 1/3; d: singleton in both, 1 and 1
    assert (p, r, n) == (pytest.approx(4.0), pytest.approx(2 / 3 + 2 / 3 + 1 / 3 + 1), 4)


def test_overlap_matching_is_one_to_one():
    assert measures.overlap_matches([(0, 10)], [(0, 4), (5, 10)]) == 1
    assert measures.overlap_matches([(0, 4), (5, 10)], [(0, 10), (3, 6)]) == 2
    assert measures.f1(0, 0, 0) is None


# -- the report on hand-made layers --------------------------------------------------------


def test_identical_layers_agree_fully_and_empty_types_are_na(project):
    report = run(project)
    assert [d["document"] for d in report["documents"]] == [DOC]
    assert report["skipped"] == [{"document": "agree-solo", "annotators": ["annotator-1"], "reason": "fewer than two annotator layers"}]
    rows = report["overall"]
    for measure in ("entity_exact", "entity_overlap", "entity_ualpha", "trigger", "trigger_ualpha", "argument",
                    "coref_entity_muc", "coref_entity_b3"):
        assert row(rows, measure)["value"] == 1.0, measure
    assert pair(row(rows, "entity_exact")) == {"a": "annotator-1", "b": "annotator-2", "n_a": 9, "n_b": 9, "matched": 9, "value": 1.0}
    assert row(rows, "entity_attribute", "mention")["value"] == 1.0
    assert row(rows, "entity_attribute", "mention")["items"] == 9
    # no item of these types, no variation in these values, no event clusters: n/a, never 1.0
    assert row(rows, "entity_exact", "VEH")["value"] is None
    assert row(rows, "entity_ualpha", "WEA")["value"] is None
    assert row(rows, "argument", "Vehicle")["value"] is None
    assert row(rows, "event_attribute", "polarity")["value"] is None
    assert row(rows, "event_attribute", "attack_type")["items"] == 0
    assert row(rows, "coref_event_muc")["value"] is None


def test_single_type_disagreement_gives_hand_computed_figures(project):
    edit_layer(project, "annotator-2", retype_verviers)
    rows = run(project)["overall"]
    # 9 entities each, 8 identical: F1 = 2*8/18
    assert row(rows, "entity_exact")["value"] == pytest.approx(16 / 18)
    assert pair(row(rows, "entity_exact", "GPE"))["n_b"] == 1
    assert row(rows, "entity_exact", "GPE")["value"] == pytest.approx(2 / 3)  # 2 vs 1, 1 matched
    assert row(rows, "entity_exact", "LOC")["value"] == 0.0  # 0 vs 1
    assert row(rows, "entity_overlap", "GPE")["value"] == pytest.approx(2 / 3)  # overlap needs the same type
    # the Place argument's filler no longer aligns: 8 arguments each, 7 matched
    assert row(rows, "argument")["value"] == pytest.approx(14 / 16)
    assert row(rows, "argument", "Place")["value"] == 0.0
    # u-alpha, GPE: the 8-character unit 'Verviers' lies in the other coder's gap: Do = 8^2 / 137^2
    assert pair(row(rows, "entity_ualpha", "GPE"))["observed"] == pytest.approx(64 / 137**2)
    assert row(rows, "entity_ualpha", "GPE")["value"] < 1.0
    assert row(rows, "entity_attribute", "mention")["items"] == 8  # attributes compare aligned items only


def test_single_attribute_and_coreference_disagreement(project):
    def change(record):
        police_named(record)
        record["entity_clusters"] = []

    edit_layer(project, "annotator-2", change)
    rows = run(project)["overall"]
    mention = row(rows, "entity_attribute", "mention")
    assert (mention["statistic"], mention["items"], mention["agreed"]) == ("Cohen's kappa", 9, 8)
    assert mention["value"] == pytest.approx(10 / 13)  # see test_cohen_kappa_and_krippendorff_alpha_by_hand
    # annotator-1 links 'Two suspects' ~ 'The suspects', annotator-2 links nothing:
    # MUC recall 0/1, precision 0/0 -> F1 0; B-cubed over the 9 shared mentions: P = 1, R = 8/9
    assert row(rows, "coref_entity_muc")["value"] == 0.0
    assert row(rows, "coref_entity_b3")["value"] == pytest.approx(16 / 17)


def test_annotator_who_annotated_nothing(project):
    def empty(record):
        record.update(entities=[], events=[], entity_clusters=[], event_clusters=[])

    edit_layer(project, "annotator-2", empty)
    rows = run(project)["overall"]
    assert pair(row(rows, "entity_exact")) == {"a": "annotator-1", "b": "annotator-2", "n_a": 9, "n_b": 0, "matched": 0, "value": 0.0}
    assert row(rows, "trigger")["value"] == 0.0
    assert row(rows, "entity_attribute", "mention")["value"] is None  # nothing aligned to compare
    assert row(rows, "coref_entity_muc")["value"] is None  # no shared mentions
    assert row(rows, "entity_ualpha")["value"] < 0.5


def test_three_annotators_use_pair_means_and_krippendorff_alpha(project):
    edit_layer(project, "annotator-1", lambda r: None, new_name="annotator-3")
    edit_layer(project, "annotator-2", police_named)
    report = run(project)
    assert report["annotators"] == ["annotator-1", "annotator-2", "annotator-3"]
    rows = report["overall"]
    exact = row(rows, "entity_exact")
    assert exact["value"] == 1.0 and len(exact["pairs"]) == 3
    mention = row(rows, "entity_attribute", "mention")
    assert mention["statistic"] == "Krippendorff's alpha"
    assert mention["value"] == pytest.approx(1 - 52 / 340)  # see test_cohen_kappa_and_krippendorff_alpha_by_hand
    # --annotators narrows back to a pair
    two = agree.agree([project / "annotations"], project / "corpus", ["annotator-1", "annotator-3"])
    assert two["annotators"] == ["annotator-1", "annotator-3"]
    assert row(two["overall"], "entity_attribute", "mention")["value"] == 1.0


def test_documents_sum_into_the_overall_figures(project):
    # a second copy of the document with a disagreement: overall counts add up (micro)
    shutil.copytree(project / "annotations" / DOC, project / "annotations" / "agree-copy")
    corpus = json.loads((project / "corpus" / f"{DOC}.json").read_text(encoding="utf-8"))
    corpus["id"] = "agree-copy"
    (project / "corpus" / "agree-copy.json").write_text(json.dumps(corpus), encoding="utf-8")
    for name in ("annotator-1", "annotator-2"):
        path = layer_path(project, name, "agree-copy")
        record = json.loads(path.read_text(encoding="utf-8"))
        record["document"] = "agree-copy"
        if name == "annotator-2":
            retype_verviers(record)
        path.write_text(json.dumps(record), encoding="utf-8")
    report = run(project)
    assert [row(d["rows"], "entity_exact")["value"] for d in report["documents"]] == [pytest.approx(16 / 18), 1.0]
    assert pair(row(report["overall"], "entity_exact"))["matched"] == 17
    assert row(report["overall"], "entity_exact")["value"] == pytest.approx(34 / 36)


def test_a_layer_on_another_text_stops_with_one_line(project):
    edit_layer(project, "annotator-2", lambda r: r.update(text_sha256="0" * 64))
    with pytest.raises(UserError, match=r"annotator-2.json doc=agree-verviers /text_sha256 \[text-hash-mismatch\]"):
        run(project)


# -- the command line ----------------------------------------------------------------------


def test_cli_formats_and_bad_options(project):
    runner = CliRunner()
    base = ["agree", str(project / "annotations"), "--corpus", str(project / "corpus")]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "entity span F1, exact" in table.output and "annotator-1=9 annotator-2=9 matched=9" in table.output
    assert "legend:" in table.output and "krippendorff" in table.output
    as_json = runner.invoke(app, base + ["--format", "json"])
    assert json.loads(as_json.output)["documents"][0]["document"] == DOC
    markdown = runner.invoke(app, base + ["--format", "markdown"])
    assert "| measure | label | value | counts |" in markdown.output
    bad = runner.invoke(app, base + ["--format", "xml"])
    assert bad.exit_code == 2 and "unknown --format 'xml'" in bad.output and "Traceback" not in bad.output
    one = runner.invoke(app, base + ["--annotators", "annotator-1"])
    assert one.exit_code == 2 and "two or more" in one.output
    missing = runner.invoke(app, ["agree", str(project / "nowhere")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


def test_cli_with_a_single_layer_says_there_is_nothing_to_compare(project):
    result = CliRunner().invoke(app, ["agree", str(project / "annotations" / "agree-solo"), "--corpus", str(project / "corpus")])
    assert result.exit_code == 0
    assert "nothing to compare" in result.output


def test_a_broken_layer_stops_with_one_addressed_line(project):
    edit_layer(project, "annotator-2", lambda r: r["entities"][0].pop("start"))
    result = CliRunner().invoke(app, ["agree", str(project / "annotations"), "--corpus", str(project / "corpus")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "annotator-2.json doc=agree-verviers /entities/0 [missing-field]" in result.output


def test_streamed_report_is_the_rendered_report(tmp_path):
    """`agree` writes the text formats one document at a time; the bytes are those of the renderers."""
    import io as stdio

    from raidcorpus import synth

    synth.synth(12, 5, tmp_path, annotators=2)
    report = agree.agree([tmp_path / "annotations"], tmp_path / "corpus")
    assert len(report["documents"]) == 12
    for fmt in ("table", "markdown", "json"):
        out = stdio.StringIO()
        agree.write_report(out, [tmp_path / "annotations"], tmp_path / "corpus", fmt=fmt)
        assert out.getvalue() == agree.RENDERERS[fmt](report), fmt
    seen = []
    streamed = agree.agree([tmp_path / "annotations"], tmp_path / "corpus", on_document=seen.append)
    assert streamed["documents"] == [] and streamed["document_count"] == 12 and len(seen) == 12
    assert streamed["overall"] == report["overall"]
