from __future__ import annotations

from roost.domain.pkce import challenge_problem, s256, verifier_matches

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_rfc_7636_appendix_b() -> None:
    assert s256(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verifier_matches(VERIFIER, s256(VERIFIER), "S256")
    assert not verifier_matches(VERIFIER, s256(VERIFIER), "plain")


def test_verifier_syntax() -> None:
    assert verifier_matches("a" * 128, "a" * 128, "plain")
    assert not verifier_matches("a" * 129, "a" * 129, "plain")
    assert not verifier_matches("a" * 42, "a" * 42, "plain")
    assert not verifier_matches("a b" * 20, "a b" * 20, "plain")


def test_challenge_problems() -> None:
    assert challenge_problem(s256(VERIFIER), "S256") is None
    assert challenge_problem(VERIFIER, "plain") is None
    assert challenge_problem(VERIFIER, "S384") is not None
    assert challenge_problem("x", "S256") is not None
