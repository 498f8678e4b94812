"""Balances from a list of expenses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .money import split_evenly


@dataclass(frozen=True)
class Expense:
    payer: str
    cents: int
    shared_by: tuple[str, ...]


def balances(expenses: list[Expense]) -> dict[str, int]:
    """Net cents per person: positive means they are owed money."""
    net: dict[str, int] = defaultdict(int)
    for expense in expenses:
        net[expense.payer] += expense.cents
        for person, share in zip(expense.shared_by, split_evenly(expense.cents, len(expense.shared_by))):
            net[person] -= share
    return {person: cents for person, cents in sorted(net.items()) if cents}
