import pytest

from gradebook.scores import ScoreError, parse_scores

EXPORT = """
# exported 2026-11-12
ada, hw1, 95
alan, hw1, 78

ada, hw2, 88
alan, hw2, 64
"""


def test_parse_groups_by_student():
    assert parse_scores(EXPORT) == {"ada": [95, 88], "alan": [78, 64]}


@pytest.mark.parametrize("line", ["ada,hw1", "ada,hw1,abc", "ada,hw1,101"])
def test_bad_lines_name_the_line(line):
    with pytest.raises(ScoreError, match="line 2"):
        parse_scores("ok,hw0,1\n" + line)
