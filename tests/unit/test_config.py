"""sources.yml errors name the file, the line and the key."""

from pathlib import Path

import pytest

from pipelines.config import Settings, load_config, parse_date
from pipelines.errors import ConfigError
from pipelines.sources import FORMATS

GOOD = """\
timezone: Europe/London
brand: Acme
competitors: [Globex]
sources:
  - name: trustpilot
    family: review
    format: trustpilot_json
    path: "{landing}/trustpilot/{date}/*.json"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(text)
    return path


def test_loads_the_example_config():
    cfg = load_config(Path(__file__).parents[2] / "config" / "sources.yml")
    assert [s.name for s in cfg.sources][:3] == ["trustpilot", "x", "nps_survey"]
    assert sorted(s.format for s in cfg.sources) == sorted(FORMATS)  # one source per built-in format
    assert next(s for s in cfg.sources if s.name == "store_feedback").options["delimiter"] == "\t"
    assert cfg.sources[2].fields["nps"] == "Q1"
    assert str(cfg.timezone) == "Europe/London"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("format: trustpilot_json", "format: trustpilot_xml"),
         ":7: sources.0.format: unknown format 'trustpilot_xml'"),
        (GOOD.replace("family: review", "family: reviews"), ":6: sources.0.family: unknown family 'reviews'"),
        (GOOD.replace("Europe/London", "Mars/Olympus"), ":1: timezone: unknown timezone 'Mars/Olympus'"),
        (GOOD.replace("name: trustpilot", "name: Trust-Pilot"), ":5: sources.0.name: 'Trust-Pilot' must match"),
        (GOOD + "    fields: {stars: rating}\n", ":9: sources.0.fields.stars: unknown review role 'stars'"),
        (GOOD + "    colour: red\n", ":9: sources.0.colour: unknown key 'colour'"),
        (GOOD.replace('    path: "{landing}/trustpilot/{date}/*.json"\n', ""), "needs a 'path'"),
        ("sources: [\n  {name: x\n", "malformed YAML"),
        ("timezone: UTC\n", "sources: expected a non-empty list"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yml")


def test_unknown_source_selection(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="unknown source reddit"):
        cfg.select(["reddit"])


def test_bad_date_names_option():
    with pytest.raises(ConfigError, match="--start: '2026-02-30' is not a date"):
        parse_date("2026-02-30", "--start")


def test_settings_defaults_and_stable_pii_key(tmp_path, monkeypatch):
    for var in ("CX_CONFIG", "CX_WAREHOUSE_URL", "CX_LANDING_DIR", "CX_SMTP_URL", "CX_PII_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CX_HOME", str(tmp_path))
    first, second = Settings.from_env(), Settings.from_env()
    assert first.warehouse_url == f"duckdb:///{tmp_path}/warehouse.duckdb"
    assert first.landing_dir == tmp_path / "landing"
    assert first.pii_key == second.pii_key and len(first.pii_key) == 64
    assert (tmp_path / "pii.key").stat().st_mode & 0o077 == 0
