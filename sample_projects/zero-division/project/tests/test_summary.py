from budget import Month, category_shares, percent_change, top_categories


def make(name, **spending):
    month = Month(name)
    for category, cents in spending.items():
        month.add(category, cents)
    return month


def test_totals():
    assert make("oct", rent=90000, food=32050).total() == 122050


def test_percent_change():
    assert percent_change(40000, 50000) == 25.0
    assert percent_change(30000, 20000) == -33.3


def test_percent_change_without_baseline():
    assert percent_change(0, 1500) is None


def test_shares():
    assert category_shares(make("nov", rent=75000, food=25000)) == {"rent": 75.0, "food": 25.0}


def test_shares_of_month_without_spending():
    assert category_shares(Month("dec")) == {}
    assert category_shares(make("jan", rent=0, food=0)) == {}


def test_top_categories_ties_by_name():
    month = make("nov", rent=90000, food=30000, fun=30000, bus=5000)
    assert top_categories(month, 3) == [("rent", 90000), ("food", 30000), ("fun", 30000)]
