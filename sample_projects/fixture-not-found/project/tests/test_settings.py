import pytest

from envcfg import Settings, load_settings


def test_load(env_file):
    assert load_settings(env_file) == Settings("postgres://app@localhost/app", True, 4)


def test_defaults(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=sqlite://\n", encoding="utf-8")
    assert load_settings(path) == Settings("sqlite://")


def test_database_url_is_required(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DEBUG=1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="DATABASE_URL is required"):
        load_settings(path)


def test_bad_flag(env_file):
    env_file.write_text(env_file.read_text() + "DEBUG=maybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match="DEBUG"):
        load_settings(env_file)
