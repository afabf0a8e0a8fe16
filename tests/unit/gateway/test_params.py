"""Request parameter typing: the client quirks accepted, junk rejected with 422 (never a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.errors import BadRequest, Unprocessable
from roost.gateway.params import Params, _add


def params(**values: Any) -> Params:
    return Params(values)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("0", False), ("true", True), ("True", True), ("FALSE", False), (" yes ", True),
     ("off", False), ("", False), (True, True), (False, False), (1, True), (0, False)],
)
def test_boolean_accepts_what_clients_send(raw: Any, expected: bool) -> None:
    assert params(x=raw).boolean("x") is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please", [], {}, 1.5])
def test_boolean_rejects_junk(raw: Any) -> None:
    with pytest.raises(Unprocessable):
        params(x=raw).boolean("x")


def test_boolean_default() -> None:
    assert params().boolean("x") is False
    assert params().boolean("x", True) is True


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), (7, 7), ("-3", -3), (" 4 ", 4), ("", None)])
def test_integer(raw: Any, expected: int | None) -> None:
    assert params(x=raw).integer("x") == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", True, [], "5a"])
def test_integer_rejects_junk(raw: Any) -> None:
    with pytest.raises(Unprocessable):
        params(x=raw).integer("x")


@pytest.mark.parametrize("raw", ["--5", "²"])
def test_integer_rejects_tricky_junk_with_422(raw: str) -> None:
    with pytest.raises(Unprocessable):
        params(x=raw).integer("x")


def test_id() -> None:
    assert params(x="123").id("x") == 123
    assert params(x="").id("x") is None
    assert params().id("x") is None
    for junk in ["xyz", "-1", "1.0", True, "99999999999999999999"]:
        with pytest.raises(Unprocessable):
            params(x=junk).id("x")


def test_string() -> None:
    assert params(x="a").string("x") == "a"
    assert params(x=5).string("x") == "5"
    assert params(x=["first", "second"]).string("x") == "first"
    assert params().string("x", "d") == "d"
    with pytest.raises(BadRequest):
        params().string("x", required=True)
    for junk in [True, {"a": 1}, [{"a": 1}]]:
        with pytest.raises(Unprocessable):
            params(x=junk).string("x")


def test_strings_accept_both_array_spellings() -> None:
    assert params(x=["a", "b"]).strings("x") == ["a", "b"]
    assert params(**{"x[]": "a"}).strings("x") == ["a"]
    assert params(x="a").strings("x") == ["a"]
    assert params().strings("x") == []
    with pytest.raises(Unprocessable):
        params(x=[{"a": 1}]).strings("x")


def test_form_keys_for_arrays() -> None:
    values: dict[str, Any] = {}
    for key, value in [("id[]", "1"), ("id[]", "2"), ("media[0]", "a"), ("media[1]", "b"), ("k", "v")]:
        _add(values, key, value)
    assert values == {"id": ["1", "2"], "media": ["a", "b"], "k": "v"}
