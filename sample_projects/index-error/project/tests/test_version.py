import pytest

from semverlite import Version, bump, parse


def test_full_version():
    assert parse("1.4.2") == Version(1, 4, 2)


def test_leading_v_and_short_forms():
    assert parse("v2") == Version(2, 0, 0)
    assert parse("1.2") == Version(1, 2, 0)


def test_pre_release_sorts_first():
    assert parse("1.0.0-rc2") < parse("1.0.0")
    assert str(parse("1.0.0-rc2")) == "1.0.0-rc2"


def test_ordering():
    assert sorted(map(parse, ["1.10", "1.2.3", "v1.2"])) == [parse("1.2"), parse("1.2.3"), parse("1.10")]


@pytest.mark.parametrize("bad", ["", "1.x", "1.2.3.4", "1.0-rc!"])
def test_rejects(bad):
    with pytest.raises(ValueError):
        parse(bad)


def test_bumps():
    v = parse("1.4.2")
    assert [str(bump(v, p)) for p in ("major", "minor", "patch")] == ["2.0.0", "1.5.0", "1.4.3"]
    assert str(bump(parse("2.0.0-rc1"), "patch")) == "2.0.0"
