from receipts import Order, OrderLine, render
from receipts.render import WIDTH, money


def sample_order():
    return Order(
        1042,
        "7",
        [OrderLine("Flat white", 350, 2), OrderLine("Almond croissant", 295)],
    )


def test_money():
    assert [money(5), money(350), money(12000)] == ["0.05", "3.50", "120.00"]


def test_receipt_layout():
    lines = render(sample_order()).splitlines()
    assert lines[0].strip() == "Order #1042"
    assert lines[1].strip() == "Table 7"
    assert lines[3] == "2 x Flat white              7.00"
    assert lines[-1] == "TOTAL                       9.95"


def test_every_line_fits_the_printer():
    order = sample_order()
    order.lines.append(OrderLine("Extra large seasonal pumpkin spice latte", 575))
    assert all(len(line) <= WIDTH for line in render(order).splitlines())
