import pytest

from ikefleet.waves import Amount, over_budget, plan_waves


def names(n: int) -> list[str]:
    return [f"br{i}" for i in range(1, n + 1)]


def test_canary_then_fixed_size_waves() -> None:
    assert plan_waves(names(7), canary=1, wave_size=Amount(3, False)) == [
        ["br1"],
        ["br2", "br3", "br4"],
        ["br5", "br6", "br7"],
    ]


def test_percentage_waves_round_up() -> None:
    waves = plan_waves(names(10), canary=2, wave_size=Amount(25, True))
    assert waves[0] == ["br1", "br2"]
    assert [len(w) for w in waves[1:]] == [3, 3, 2]
    assert [host for wave in waves for host in wave] == names(10)


def test_no_canary_and_no_branches() -> None:
    assert plan_waves(names(3), canary=0, wave_size=Amount(2, False)) == [["br1", "br2"], ["br3"]]
    assert plan_waves([], canary=1, wave_size=Amount(2, False)) == []


@pytest.mark.parametrize(
    ("text", "failed", "total", "stop"),
    [
        ("1", 1, 10, False),
        ("1", 2, 10, True),
        ("0", 1, 10, True),
        ("20%", 2, 10, False),
        ("20%", 3, 10, True),
    ],
)
def test_max_fail_budget(text: str, failed: int, total: int, stop: bool) -> None:
    assert over_budget(failed, total, Amount.parse(text, option="--max-fail")) is stop


def test_without_max_fail_the_first_failure_stops() -> None:
    """No --max-fail: a failed canary (or any failed wave) stops the later waves."""
    assert over_budget(0, 100, None) is False
    assert over_budget(1, 100, None) is True


def test_the_canary_holds_branches_this_run_changes_new_ones_first() -> None:
    """A converged branch with nothing to change proves nothing as a canary: the branches the run changes
    lead (new ones first, as given), the canary holds only them, the rest follow in inventory order."""
    waves = plan_waves(names(6), canary=2, wave_size=Amount(2, False), first=["br5", "br3", "br4"])
    assert waves == [["br5", "br3"], ["br4", "br1"], ["br2", "br6"]]
    # fewer changing branches than --canary: the canary is those alone
    assert plan_waves(names(4), canary=3, wave_size=Amount(2, False), first=["br4"]) == [
        ["br4"], ["br1", "br2"], ["br3"],
    ]
    # nothing changes: the canary is the first branches, as before
    assert plan_waves(names(3), canary=1, wave_size=Amount(2, False), first=[]) == [["br1"], ["br2", "br3"]]


@pytest.mark.parametrize("text", ["", "x", "5x", "-1", "150%"])
def test_bad_amounts_name_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="--wave-size"):
        Amount.parse(text, option="--wave-size")
