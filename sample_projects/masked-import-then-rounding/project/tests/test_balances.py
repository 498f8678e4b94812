from ledger.balances import Expense, balances


def test_single_dinner():
    dinner = Expense("ana", 9000, ("ana", "ben", "cy"))
    assert balances([dinner]) == {"ana": 6000, "ben": -3000, "cy": -3000}


def test_uneven_split_payer_absorbs_cent():
    taxi = Expense("ben", 1000, ("ben", "ana", "cy"))
    assert balances([taxi]) == {"ana": -333, "ben": 666, "cy": -333}


def test_settled_people_are_left_out():
    a = Expense("ana", 2000, ("ana", "ben"))
    b = Expense("ben", 2000, ("ana", "ben"))
    assert balances([a, b]) == {}
