"""The labelling config: generated from the schema, committed fresh, accepted by a real Label Studio."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from raidcorpus import ls_config, ontology
from raidcorpus.cli import app


ROOT = Path(__file__).resolve().parents[1]


def test_committed_config_is_not_stale():
    committed = (ROOT / ls_config.CONFIG_PATH).read_text(encoding="utf-8")
    assert committed == ls_config.render(), "labelstudio/config.xml is stale: run `raidcorpus ls-config`"


def test_check_flag_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "config.xml"
    stale.write_text("<View/>\n")
    got = CliRunner().invoke(app, ["ls-config", "--check", "--out", str(stale)])
    assert got.exit_code == 1 and "stale" in got.output
    assert CliRunner().invoke(app, ["ls-config", "--out", str(stale)]).exit_code == 0
    assert CliRunner().invoke(app, ["ls-config", "--check", "--out", str(stale)]).exit_code == 0


def test_config_offers_exactly_the_ontology():
    onto = ontology.load()
    root = ET.fromstring(ls_config.render())
    labels = {group.get("name"): [x.get("value") for x in group] for group in root.iter("Labels")}
    assert labels == {"entity": list(onto.entity_names), "event": list(onto.event_names)}
    relations = [r.get("value") for r in root.iter("Relation")]
    assert relations == list(onto.role_names) + ["coref"]
    choices = {c.get("name"): c for c in root.iter("Choices")}
    for attr in onto.entity_attributes + onto.event_attributes:
        assert [x.get("value") for x in choices[attr.name]] == list(attr.names)
        assert choices[attr.name].get("perRegion") == "true"
    assert choices["attack_type"].get("whenLabelValue") == "Attack"
    assert choices["attack_type"].get("whenTagName") == "event"
    assert choices["mention"].get("whenTagName") == "entity"
    assert choices["approx"].get("whenLabelValue") == "NUM" and choices["approx"].get("required") is None
    area = next(root.iter("TextArea"))
    assert area.get("name") == "normalized" and area.get("perRegion") == "true"


def test_label_values_and_hints_are_escaped():
    schema = copy.deepcopy(ontology.load_schema())
    odd = 'A&B "<x>"'
    schema["$defs"]["EntityType"]["oneOf"].append({"const": odd, "description": "Tom & Jerry's <b>\"quotes\"</b>\nnext"})
    xml = ls_config.render(ontology.from_schema(schema))
    values = [label.get("value") for label in ET.fromstring(xml).iter("Label")]
    assert odd in values


@pytest.mark.labelstudio
def test_real_server_accepts_the_config_and_rejects_a_broken_one(label_studio):
    headers = {"Authorization": f"Token {label_studio.token}"}
    ok = httpx.post(f"{label_studio.url}/api/projects/validate/", headers=headers, json={"label_config": ls_config.render()})
    assert ok.status_code in (200, 204), ok.text
    made = httpx.post(f"{label_studio.url}/api/projects/", headers=headers, json={"title": "config check", "label_config": ls_config.render()})
    assert made.status_code == 201, made.text
    broken = ls_config.render().replace('toName="text"', 'toName="nowhere"', 1)
    bad = httpx.post(f"{label_studio.url}/api/projects/validate/", headers=headers, json={"label_config": broken})
    assert bad.status_code == 400
