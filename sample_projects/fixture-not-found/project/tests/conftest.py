import pytest

ENV = """\
# local development
export DATABASE_URL="postgres://app@localhost/app"
DEBUG=yes
WORKERS=4  # one per core
"""


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ENV, encoding="utf-8")
    return path
