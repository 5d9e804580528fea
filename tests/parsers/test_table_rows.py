"""Table rows: a row with one word under each column takes a short path (`assign_cells`); every row must
land in the columns the overlap rule (`assign_by_overlap`) gives, and a first row's cells must go on
with the rows that continue them."""

from __future__ import annotations

import random

from ikefleet.parsers import parse_installed_sa
from ikefleet.parsers.table import TOKEN_RE, assign_by_overlap, assign_cells, parse_header


def test_every_row_lands_where_the_overlap_rule_puts_it() -> None:
    rng = random.Random(25)
    words = ["a", "bb", "ccc", "dddddddd", "ee-ee", "0x10000001", "203.0.113.1:4500", "256"]
    for _ in range(2000):
        names = [rng.choice(["SPI", "STATE", "SRC", "DST-ADDRESS", "ENC", "AUTH"]) + str(i) for i in range(4)]
        header = "  ".join(name.ljust(rng.randrange(len(name), len(name) + 6)) for name in names)
        table = parse_header(header, None)
        assert table is not None
        row = ""
        for _column in range(rng.randrange(2, 6)):
            row += rng.choice(words) + " " * rng.randrange(1, 5)
        row = " " * rng.randrange(0, 8) + row
        tokens = list(TOKEN_RE.finditer(row))
        assert assign_cells(tokens, table, row) == assign_by_overlap(tokens, table, row), (header, row)


def test_a_first_rows_cell_goes_on_in_the_next_row() -> None:
    # a value as wide as its column (SRC-ADDRESS: 17 characters up to DST-ADDRESS) goes on in the next row
    header = "#      SPI         STATE   SRC-ADDRESS       DST-ADDRESS        ENC-KEY-SIZE"
    text = "\n".join([
        "Flags: S - SEEN-TRAFFIC; H - HW-AEAD; E - ESP",
        "Columns: SPI, STATE, SRC-ADDRESS, DST-ADDRESS, ENC-KEY-SIZE",
        header,
        "0  SE  0x10000000  mature  198.51.100.100:45 203.0.113.1:4500            256",
        " " * header.index("SRC-ADDRESS") + "00",
        "1  SE  0x10000001  mature  203.0.113.1:4500  198.51.100.2:4500           256",
    ])
    first, second = parse_installed_sa(text)
    assert first["src_address"] == "198.51.100.100:4500" and first["enc_key_size"] == 256
    assert second["dst_address"] == "198.51.100.2:4500" and second["esp"] and second["seen_traffic"]
