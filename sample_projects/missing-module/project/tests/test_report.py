from weather.report import Reading, format_report, warnings


def test_metric_report():
    r = Reading("Bergen", 7.4, 22, 81)
    assert format_report(r) == "Bergen: 7°C, wind 22 km/h (force 4), humidity 81%"


def test_imperial_report():
    r = Reading("Austin", 30, 16, 40)
    assert format_report(r, imperial=True) == "Austin: 86°F, wind 10 mph (force 3), humidity 40%"


def test_warnings():
    assert warnings(Reading("Tromsø", -3, 70, 60)) == ["frost", "gale"]
    assert warnings(Reading("Manaus", 31, 5, 93)) == ["muggy"]
    assert warnings(Reading("Lyon", 18, 10, 50)) == []
