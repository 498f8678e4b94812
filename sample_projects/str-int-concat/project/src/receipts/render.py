"""Rendering orders as fixed-width text.

The till printer is 32 characters wide and has no notion of markup, so
every line is padded or cut here; money is kept in cents until printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 32


@dataclass(frozen=True)
class OrderLine:
    name: str
    cents: int
    quantity: int = 1


@dataclass
class Order:
    number: int
    table: str
    lines: list[OrderLine] = field(default_factory=list)

    def total(self) -> int:
        return sum(line.cents * line.quantity for line in self.lines)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _row(left: str, right: str) -> str:
    room = WIDTH - len(right) - 1
    if len(left) > room:
        left = left[: room - 1] + "…"
    return f"{left:<{room}} {right}"


def render(order: Order) -> str:
    rows = [f"Order #{order.number}".center(WIDTH), f"Table {order.table}".center(WIDTH), "-" * WIDTH]
    for line in order.lines:
        label = line.name if line.quantity == 1 else f"{line.quantity} x {line.name}"
        rows.append(_row(label, money(line.cents * line.quantity)))
    rows += ["-" * WIDTH, _row("TOTAL", money(order.total()))]
    return "\n".join(rows)
