from ikefleet.redact import MASK, mask_command, register, scrub


def test_secret_arguments_are_masked_in_commands() -> None:
    cmd = '/certificate export-certificate br1 type=pkcs12 export-passphrase="s3cr et!" file-name=br1'
    masked = mask_command(cmd)
    assert "s3cr" not in masked and f"export-passphrase={MASK}" in masked and "file-name=br1" in masked
    backup = "/system backup save password=hunter2hunter"
    assert mask_command(backup) == f"/system backup save password={MASK}"
    assert mask_command("/certificate import file-name=x passphrase=abc") == (
        f"/certificate import file-name=x passphrase={MASK}"
    )


def test_plain_commands_are_unchanged() -> None:
    cmd = "/ip ipsec peer add name=hub address=203.0.113.1 exchange-mode=ike2"
    assert mask_command(cmd) == cmd


def test_registered_values_are_scrubbed_from_free_text() -> None:
    register("Zq8-unique-lab-pass", None, "")
    assert scrub("login failed for admin with Zq8-unique-lab-pass") == f"login failed for admin with {MASK}"


def test_every_secret_is_masked_whether_the_text_is_shorter_or_longer_than_the_secret_list() -> None:
    """scrub looks secrets up by their first characters in short texts and searches for each one in long
    texts; both ways find a secret anywhere in the text, and a secret holding another is masked whole."""
    many = [f"Br{n:04d}-p12-passphrase-x7" for n in range(300)]
    register(*many, "Br0150-p12-passphrase-x7-and-more")
    short = "pkcs12 import on br150 failed with Br0150-p12-passphrase-x7-and-more; retry"
    assert len(short) < 300
    assert scrub(short) == f"pkcs12 import on br150 failed with {MASK}; retry"
    long = ("filler " * 100) + "Br0299-p12-passphrase-x7" + (" tail" * 100)
    assert len(long) > 301
    assert "Br0299" not in scrub(long) and scrub(long).count(MASK) == 1
    assert scrub("Br0007-p12-passphrase-x7Br0008-p12-passphrase-x7") == MASK * 2
    assert scrub("Br0007-p12-pass is not a secret") == "Br0007-p12-pass is not a secret"
