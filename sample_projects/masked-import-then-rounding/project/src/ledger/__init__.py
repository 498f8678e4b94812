"""Shared expenses: who owes whom, to the cent."""
