"""Settings: names, parsing, errors, and the .env.example contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from digest.config import Settings, load_settings
from digest.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _env_names(model: type[BaseModel], prefix: str = "DIGEST_") -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names |= _env_names(ann, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^#?\s*(DIGEST_[A-Z0-9_]+)=", (REPO / ".env.example").read_text(),
                                re.MULTILINE))
    missing = _env_names(Settings) - documented
    assert not missing, f"document these in .env.example: {sorted(missing)}"
    unknown = documented - _env_names(Settings)
    assert not unknown, f".env.example names settings that do not exist: {sorted(unknown)}"


def test_defaults_are_offline_and_need_no_configuration(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env, no seeds/ or subscribers/ here
    s = load_settings()
    assert s.database_url.startswith("sqlite:///")
    assert not s.delivers_by_smtp and s.outbox_dir == Path("outbox")
    # The demo runs from any folder on the data packaged with digest.
    [feed] = s.feeds
    assert Path(feed).read_bytes() == (REPO / "seeds" / "arxiv_seed.xml").read_bytes()
    assert sorted(p.name for p in s.subscribers_dir.glob("*.toml")) == sorted(
        p.name for p in (REPO / "subscribers").glob("*.toml"))


def test_a_checkout_uses_its_own_seeds_and_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    s = load_settings()
    assert s.feeds == ["seeds/arxiv_seed.xml"] and s.subscribers_dir == Path("subscribers")


def test_production_never_falls_back_to_the_demo_data(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(mode="production")
    assert s.feeds == [] and s.subscribers_dir == Path("subscribers")


def test_env_and_nesting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_SMTP__HOST", "mail.example.org")
    monkeypatch.setenv("DIGEST_SMTP__PORT", "2525")
    monkeypatch.setenv("DIGEST_FEEDS", "a.xml, hf=https://example.org/f.json")
    monkeypatch.setenv("DIGEST_SOMETHING_UNKNOWN", "ignored")
    s = load_settings()
    assert (s.smtp.host, s.smtp.port) == ("mail.example.org", 2525) and s.delivers_by_smtp
    assert s.feeds == ["a.xml", "hf=https://example.org/f.json"]


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DIGEST_FROM_ADDRESS=news@example.org\n")
    assert load_settings().from_address == "news@example.org"


@pytest.mark.parametrize(("name", "value"), [
    ("DIGEST_SMTP__PORT", "abc"),
    ("DIGEST_SMTP__PORT", "70000"),
    ("DIGEST_FROM_ADDRESS", "no-at-sign"),
    ("DIGEST_ACCENT_COLOR", "red; background:url(x)"),
    ("DIGEST_MODE", "yolo"),
])
def test_malformed_setting_names_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        name: str, value: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(name + ":")
    assert "\n" not in str(info.value)


def test_production_requires_a_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_MODE", "production")
    with pytest.raises(ConfigError, match="DIGEST_SECRET_KEY"):
        load_settings().secret()


def test_demo_secret_is_generated_once_and_kept(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    first = load_settings().secret()
    assert len(first) >= 32 and load_settings().secret() == first
    assert (tmp_path / ".digest_secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("url", ["postgres://u:p@db:5432/digest", "postgresql://u:p@db:5432/digest"])
def test_libpq_style_postgres_urls_use_the_installed_driver(url: str) -> None:
    # SQLAlchemy has no "postgres" dialect, and "postgresql" alone means psycopg2, which
    # digest does not install: both become the psycopg 3 URL the extra provides.
    assert load_settings(database_url=url).database_url == "postgresql+psycopg://u:p@db:5432/digest"


def test_an_empty_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_SMTP__DKIM_KEY_PATH", "")
    monkeypatch.setenv("DIGEST_SMTP__PORT", "")
    settings = load_settings()
    assert settings.smtp.dkim_key_path is None and settings.smtp.port == 25
    settings.check_ready()
