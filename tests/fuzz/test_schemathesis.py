"""The fuzzing job: schemathesis against roost's own /openapi.json.

A real `roost up` on a spare loopback port; every operation gets property-based
requests (valid and invalid input) with the bearer token of a real user that has
every scope, and every response must be no 5xx and must match the status, content
type and body schema /openapi.json declares for it. Then a stateful run follows the
document's links (a posted status's id on to the status routes, an account's id on
to the account routes, and so on).

Bounds: ``FUZZ_EXAMPLES`` cases per operation and ``STATEFUL_EXAMPLES`` scenarios of
at most ``STATEFUL_STEPS`` calls, no per-case deadline (2 shared cores), so the job
takes a few minutes of `make test`. ROOST_FUZZ_EXAMPLES scales it up for a longer run.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from e2e_support import RoostServer, User, register
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from roost.gateway.openapi import openapi_path
from roost.gateway.routes import TABLE

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = int(os.environ.get("ROOST_FUZZ_EXAMPLES", "200"))
STATEFUL_EXAMPLES = FUZZ_EXAMPLES
STATEFUL_STEPS = 10
# Each response: no 5xx; status, content type and body as declared; and a route that
# declares a bearer requirement refuses the same request without the token.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth]
# Along a sequence, also: what was created can be read, and what was deleted is gone.
STATEFUL_CHECKS = [*CHECKS, ensure_resource_availability, use_after_free]
# Left out: positive_data_acceptance and negative_data_rejection judge the request schemas,
# which say "a string" where roost wants one of a list (visibility, type) or a bounded
# number (limit), so they flag documentation, not behaviour.


@dataclass
class Fuzz:
    document: dict[str, Any]  # /openapi.json as served
    config: Any  # schemathesis.Config: the fuzzer's token, the example budget
    known: dict[str, list[str]]  # real ids, by the path prefix that takes them
    fuzzer: User

    def schema(self, document: dict[str, Any] | None = None) -> Any:
        return schemathesis.openapi.from_dict(document or self.document, config=self.config)


@pytest.fixture(scope="module")
def world(fuzz_server: RoostServer) -> Fuzz:
    # A user whose token has every scope, plus a second one who mentions, follows and is
    # followed by it, so that real ids lead to real records (random ids only find 404s).
    fuzzer, other = register(fuzz_server.url), register(fuzz_server.url)
    theirs = other.status(f"hello @{fuzzer.username} #fuzz")
    other.status("a reply", in_reply_to_id=theirs["id"])
    fuzzer.follow(other)
    other.follow(fuzzer)
    mine = fuzzer.status("first post")
    fuzz_server.wait_idle()
    known = {
        "/api/v1/statuses/{id}": [theirs["id"], mine["id"]],
        "/api/v1/accounts/{id}": [other.id, fuzzer.id],
        "/api/v1/notifications/{id}": [n["id"] for n in fuzzer.get("/api/v1/notifications")],
    }
    config = schemathesis.Config.from_dict({
        "base-url": fuzz_server.url,
        "headers": {"Authorization": f"Bearer {fuzzer.token}"},
        "generation": {"max-examples": FUZZ_EXAMPLES, "with-security-parameters": False},
    })
    document = httpx.get(fuzz_server.url + "/openapi.json", timeout=10).json()
    assert document["servers"] == [{"url": fuzz_server.url}], document["servers"]
    return Fuzz(document, config, known, fuzzer)


def assert_token_still_works(fuzzer: User) -> None:
    """Guard against a vacuous pass: were the fuzzer's token revoked (POST /oauth/revoke is
    fuzzed too), every later case would be a 401. It cannot be: revoking needs the secret
    of the app that issued the token, which the fuzzer is never given."""
    assert fuzzer.client.get("/api/v1/accounts/verify_credentials").status_code == 200


# One test per route, named from the endpoint table (so collection needs no server).
# schemathesis's own pytest plugin (schema.parametrize) does not run under pytest 9.2
# (it reads a removed private attribute), so each test draws cases from the operation's
# strategies with hypothesis directly.
OPERATIONS = [(e.method, openapi_path(e.path)) for e in TABLE.endpoints]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_declared(world: Fuzz, method: str, path: str) -> None:
    operation = world.schema()[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    for prefix, ids in world.known.items():
        if path.startswith(prefix):
            strategies += [operation.as_strategy(path_parameters={"id": i}) for i in ids]
    cases = st.one_of(strategies)

    @hypothesis.given(case=cases)
    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def fuzz(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()
    assert_token_still_works(world.fuzzer)


def test_stateful_sequences_follow_the_links(world: Fuzz) -> None:
    """Call sequences along the document's links: e.g. post a status, then favourite,
    reblog, read the context of, and delete that status; find an account, then follow it."""
    # roost has no media uploads yet, so no operation produces a media id; schemathesis
    # then will not start a sequence with POST /api/v1/statuses (its `media_ids` would
    # have nowhere to come from). Posting without media is the sequence that matters.
    document = copy.deepcopy(world.document)
    for media_type in document["paths"]["/api/v1/statuses"]["post"]["requestBody"]["content"].values():
        media_type["schema"]["properties"].pop("media_ids")
    base = world.schema(document).as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    Machine.run(settings=hypothesis.settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None, database=None,
        derandomize=True, suppress_health_check=list(hypothesis.HealthCheck),
    ))
    assert_token_still_works(world.fuzzer)
