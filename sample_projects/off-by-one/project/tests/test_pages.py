import pytest

from pager import page_count, paginate

ITEMS = list(range(1, 48))  # 47 items


def test_first_page():
    page = paginate(ITEMS, 1, 20)
    assert page.items == list(range(1, 21))
    assert (page.has_previous, page.has_next) == (False, True)


def test_middle_page():
    assert paginate(ITEMS, 2, 20).items == list(range(21, 41))


def test_last_page_is_short():
    page = paginate(ITEMS, 3, 20)
    assert page.items == [41, 42, 43, 44, 45, 46, 47]
    assert not page.has_next


def test_past_the_end_is_empty():
    assert paginate(ITEMS, 9, 20).items == []


def test_page_count():
    assert [page_count(n, 10) for n in (0, 1, 10, 11)] == [1, 1, 1, 2]


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (1, 0), (1, 101)])
def test_bad_arguments(page, per_page):
    with pytest.raises(ValueError):
        paginate(ITEMS, page, per_page)
