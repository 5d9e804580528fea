"""A quoted value RouterOS wrapped mid-value goes on on the next line (the detail reader's fast path), but a
line that starts an item still starts one, even after a quote left open (a value cut short)."""

from __future__ import annotations

from ikefleet.parsers import parse_installed_sa

KEY = "0123456789abcdef" * 4


def test_a_wrapped_quoted_value_is_joined_and_the_pairs_after_it_read() -> None:
    text = (
        "Flags: H - hw-aead, A - AH, E - ESP\r\n"
        " 0  E spi=0x1000 src-address=198.51.100.2:4500 dst-address=203.0.113.1:4500\r\n"
        f'      state=mature auth-algorithm=sha256 enc-key="{KEY[:50]}\r\n'
        f'      {KEY[50:]}" enc-algorithm=aes-cbc enc-key-size=256 replay=128\r\n'
    )
    [sa] = parse_installed_sa(text)
    assert sa["enc_algorithm"] == "aes-cbc" and sa["enc_key_size"] == 256 and sa["replay"] == 128
    assert "enc_key" not in sa  # a secret, dropped while reading


def test_an_item_line_after_a_quote_left_open_starts_the_next_item() -> None:
    text = (
        "Flags: H - hw-aead, A - AH, E - ESP\r\n"
        " 0  E spi=0x1000 src-address=198.51.100.2:4500 dst-address=203.0.113.1:4500\r\n"
        '      state=mature comment="cut sho\r\n'
        " 1  E spi=0x1001 src-address=203.0.113.1:4500 dst-address=198.51.100.2:4500\r\n"
        "      state=mature enc-key-size=256\r\n"
    )
    records = parse_installed_sa(text)
    assert [r["spi"] for r in records] == ["0x1000", "0x1001"]
    assert records[1]["enc_key_size"] == 256
