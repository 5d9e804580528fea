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
