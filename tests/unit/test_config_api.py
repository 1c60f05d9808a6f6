"""sources.yml keys of HTTP API sources: parsed into SourceConfig, errors name file, line and key."""

from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.config import DEFAULT_BUDGET_SECONDS, DEFAULT_OVERLAP, load_config
from pipelines.errors import ConfigError

API = """\
timezone: UTC
sources:
  - name: tp
    family: review
    format: trustpilot_json
    url: "https://api.trustpilot.com/v1/business-units/{business_unit}/reviews"
    params: {business_unit: 5f1e, language: en}
    auth: {type: bearer, token_env: TRUSTPILOT_TOKEN}
    page_size: 50
    budget_seconds: 120
    timeout_seconds: 10
    incremental: {overlap: 36h}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(text)
    return path


def test_an_api_source_reads_every_key(tmp_path):
    source = load_config(write(tmp_path, API)).sources[0]
    assert source.url.endswith("/{business_unit}/reviews") and source.path is None
    assert source.params == {"business_unit": "5f1e", "language": "en"}
    assert source.placeholders == ["business_unit"]
    assert source.auth == {"type": "bearer", "token_env": "TRUSTPILOT_TOKEN"}
    assert (source.page_size, source.budget_seconds, source.timeout_seconds) == (50, 120.0, 10.0)
    assert source.overlap == timedelta(hours=36)


def test_defaults_and_a_full_pull(tmp_path):
    minimal = "\n".join(line for line in API.splitlines() if not line.startswith(("    page_size", "    budget",
                                                                                    "    timeout", "    incr")))
    source = load_config(write(tmp_path, minimal + "\n")).sources[0]
    assert (source.page_size, source.budget_seconds, source.overlap) == (None, DEFAULT_BUDGET_SECONDS, DEFAULT_OVERLAP)
    assert DEFAULT_OVERLAP == timedelta(days=2)
    full = load_config(write(tmp_path, API.replace("{overlap: 36h}", "false"))).sources[0]
    assert full.overlap is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    page_size: 50\n", '    page_size: 50\n    path: "/data/*.json"\n',
         ":6: sources.0.url: a source reads files ('path') or an HTTP API ('url'), not both"),
        ("format: trustpilot_json", "format: qualtrics_csv", ":6: sources.0.url: format 'qualtrics_csv' has no HTTP"),
        ('url: "https://', 'url: "ftp://', ":6: sources.0.url: 'ftp://api.trustpilot.com"),
        ("{business_unit: 5f1e, language: en}", "{language: en}",
         ":6: sources.0.url: placeholder {business_unit} has no value in 'params'"),
        ("language: en}", "language: [en, de]}", ":7: sources.0.params.language: expected a text or number value"),
        ("language: en}", "language: en, access_token: abc}",
         ":7: sources.0.params.access_token: looks like a credential"),
        ("type: bearer", "type: oauth", ":8: sources.0.auth.type: expected one of bearer, basic, api_key"),
        ("token_env: TRUSTPILOT_TOKEN", "token: abc123",
         ":8: sources.0.auth.token: unknown key for auth type bearer; secrets come from the environment"),
        ("{type: bearer, token_env: TRUSTPILOT_TOKEN}", "{type: basic, username_env: TP_USER}",
         ":8: sources.0.auth: auth type basic needs 'password_env'"),
        ("token_env: TRUSTPILOT_TOKEN", "token_env: $TOKEN", ":8: sources.0.auth.token_env: '$TOKEN' is not"),
        ("page_size: 50", "page_size: 500", ":9: sources.0.page_size: expected a whole number from 1 to 100"),
        ("budget_seconds: 120", "budget_seconds: -1", ":10: sources.0.budget_seconds: expected a positive number"),
        ("timeout_seconds: 10", "timeout_seconds: soon", ":11: sources.0.timeout_seconds: expected a positive"),
        ("{overlap: 36h}", "{overlap: two days}", ":12: sources.0.incremental.overlap: 'two days' is not a duration"),
        ("{overlap: 36h}", "{lookback: 2d}", ":12: sources.0.incremental: expected false, true or a mapping"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path, old, new, expected):
    assert old in API
    path = write(tmp_path, API.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_api_keys_on_a_file_source_are_an_error(tmp_path):
    text = API.replace('url: "https://api.trustpilot.com/v1/business-units/{business_unit}/reviews"',
                       'path: "/data/tp/*.json"')
    with pytest.raises(ConfigError, match=r":7: sources\.0\.params: only an HTTP API source"):
        load_config(write(tmp_path, text))
