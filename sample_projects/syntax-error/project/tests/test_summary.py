from csvstats import read_rows, summarize


def test_summary_of_numeric_column():
    stats = summarize(read_rows("city,temp\noslo,3\nrome,15\nlima,18\n"))
    temp = stats["temp"]
    assert (temp.count, temp.mean, temp.minimum, temp.maximum) == (3, 12.0, 3.0, 18.0)


def test_text_column_counts_nothing():
    stats = summarize(read_rows("city\noslo\nrome\n"))
    assert stats["city"].count == 0
    assert stats["city"].mean is None


def test_underscores_in_numbers():
    stats = summarize(read_rows("n\n1_000\n3_000\n"))
    assert stats["n"].mean == 2000.0
