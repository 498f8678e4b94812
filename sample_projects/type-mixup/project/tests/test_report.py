import pytest

from gradebook.report import average, letter, report
from gradebook.scores import parse_scores


def test_average_and_drop_lowest():
    assert average([90, 60, 75]) == 75
    assert average([90, 60, 75], drop_lowest=True) == 82.5


def test_average_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        average([])


@pytest.mark.parametrize(("avg", "grade"), [(95, "A"), (90, "A"), (89.9, "B"), (61, "D"), (12, "F")])
def test_letters(avg, grade):
    assert letter(avg) == grade


def test_report_from_export():
    scores = parse_scores("bo,hw1,70\nada,hw1,91\nbo,hw2,80\nada,hw2,97\n")
    assert report(scores) == ["ada         94.0  A", "bo          75.0  C"]
