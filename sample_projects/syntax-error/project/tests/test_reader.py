from csvstats import read_rows


def test_reads_rows_by_header():
    rows = list(read_rows("name,age\nada,36\nalan,41\n"))
    assert rows == [{"name": "ada", "age": "36"}, {"name": "alan", "age": "41"}]


def test_pads_short_rows_and_drops_extra_cells():
    rows = list(read_rows("a,b\n1\n2,3,4\n"))
    assert rows == [{"a": "1", "b": ""}, {"a": "2", "b": "3"}]


def test_semicolon_delimiter():
    assert list(read_rows("x;y\n1;2\n", delimiter=";")) == [{"x": "1", "y": "2"}]


def test_empty_input_has_no_rows():
    assert list(read_rows("")) == []
