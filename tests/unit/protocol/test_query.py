"""The query protocol against botocore's own serializer and parser, for IAM and STS."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import botocore.config
import botocore.model
import botocore.parsers
import botocore.serialize
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.handlers import json_decode_policies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies_model import _example_string as example_string
from strongroom import errors
from strongroom.protocol.query import (
    COMMON_ERROR_STATUS,
    QueryModel,
    decode_request,
    encode_error,
    encode_response,
    error_status,
)
from strongroom.protocol.shapes import InputPolicy

MODELS = {"iam": QueryModel.load("iam"), "sts": QueryModel.load("sts")}
SESSION = botocore.session.get_session()
BOTOCORE = {name: SESSION.get_service_model(name) for name in MODELS}
SERIALIZER = botocore.serialize.create_serializer("query")
IAM, STS = MODELS["iam"], MODELS["sts"]
ALL_OPERATIONS = [(service, op) for service in MODELS for op in sorted(MODELS[service].operations)]
REPRESENTATIVE = [
    ("iam", name)
    for name in (
        "GetUser",
        "CreateUser",
        "ListUsers",
        "CreateAccessKey",
        "ListAccessKeys",
        "GetAccessKeyLastUsed",
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "CreatePolicy",
        "CreatePolicyVersion",
        "ListAttachedUserPolicies",
        "CreateRole",
        "GetRole",
        "ListRoles",
        "TagUser",
        "ListUserTags",
    )
] + [("sts", name) for name in ("GetCallerIdentity", "AssumeRole", "GetSessionToken")]

# Strings the shared example builder cannot produce (patterns with fixed prefixes).
KNOWN_GOOD = {
    "OrganizationIdType": "o-abcdefghij",
    "organizationsEntityPathType": "o-abcdefghij/r-abcd",
    "organizationsPolicyIdType": "p-abcdefgh",
    "pathPrefixType": "/division/",
    "pathType": "/division/",
    "policyPathType": "/division/",
    "policyVersionIdType": "v1",
    "redirectUrlType": "https://example.com/a?b=c",
    "rolePathPatternType": "/division/",
}
# Characters that stress form encoding and XML escaping.
AWKWARD = "a&b=c +%d\u00e9<x>'\"\r\n\t;"
MOMENT = dt.datetime(2026, 11, 28, 22, 37, 40, 123000, tzinfo=dt.UTC)


def form(params: Mapping[str, Any] | list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(params).encode()


def serialize(service: str, operation: str, params: Mapping[str, Any]) -> bytes:
    """The body botocore sends for ``params``."""
    op_model = BOTOCORE[service].operation_model(operation)
    request = SERIALIZER.serialize_to_request(params, op_model)
    return form(request["body"])


def string_for(name: str, shape: Mapping[str, Any]) -> str:
    if name in KNOWN_GOOD:
        return KNOWN_GOOD[name]
    if "enum" not in shape and "pattern" not in shape and shape.get("max", 1 << 30) >= len(AWKWARD):
        size: int = max(shape.get("min", 0), len(AWKWARD))
        return (AWKWARD * (size // len(AWKWARD) + 1))[:size]
    return str(example_string(shape))


def build_input(document: Mapping[str, Any], name: str, depth: int = 0) -> Any:
    """A valid value for shape ``name`` with every member present and two of each element."""
    shapes = document["shapes"]
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        members = shape["members"]
        if shape.get("union"):
            members = dict(list(members.items())[:1])
        if depth > 4:
            members = {m: r for m, r in members.items() if m in shape.get("required", ())}
        return {m: build_input(document, r["shape"], depth + 1) for m, r in members.items()}
    if kind == "list":
        count = max(shape.get("min", 0), min(2, shape.get("max", 2)))
        element = shape["member"]["shape"]
        values = [build_input(document, element, depth + 1) for _ in range(count)]
        if shapes[element]["type"] == "string" and "enum" in shapes[element]:
            enum = shapes[element]["enum"]
            values = [enum[i % len(enum)] for i in range(count)]
        return values
    if kind == "map":
        key_shape = shapes[shape["key"]["shape"]]
        key = string_for(shape["key"]["shape"], key_shape)
        return {key: build_input(document, shape["value"]["shape"], depth + 1)}
    if kind == "string":
        return string_for(name, shape)
    if kind in ("integer", "long"):
        return int(shape.get("min", 7))
    if kind == "boolean":
        return True
    raise AssertionError(f"unexpected input shape type {kind}")


def build_output(document: Mapping[str, Any], name: str, depth: int = 0) -> Any:
    """A value of output shape ``name`` with every member present (constraints ignored)."""
    shapes = document["shapes"]
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        members = shape["members"]
        if depth > 5:
            return {}
        return {m: build_output(document, r["shape"], depth + 1) for m, r in members.items()}
    if kind == "list":
        return [build_output(document, shape["member"]["shape"], depth + 1) for _ in range(2)]
    if kind == "map":
        return {
            f"k{i}{AWKWARD}": build_output(document, shape["value"]["shape"], depth + 1)
            for i in range(2)
        }
    if kind == "string":
        if "enum" in shape:
            return shape["enum"][-1]
        if name == "policyDocumentType":
            return '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}'
        return AWKWARD
    if kind in ("integer", "long"):
        return -(2**31) if kind == "integer" else 2**40
    if kind == "boolean":
        return depth % 2 == 0
    if kind == "timestamp":
        return MOMENT
    if kind == "blob":
        return b"\x00\xff binary"
    raise AssertionError(f"unexpected output shape type {kind}")


def parse(service: str, operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    """What botocore's query parser makes of ``body`` for ``operation``."""
    shape = BOTOCORE[service].operation_model(operation).output_shape
    parser = botocore.parsers.create_parser("query")
    parsed: dict[str, Any] = parser.parse(
        {"body": body, "headers": {}, "status_code": status}, shape
    )
    return parsed


def unquote_policies(value: Any, shape: botocore.model.Shape) -> Any:
    """Undo IAM's URL-encoding of policy documents wherever they occur in ``value``."""
    if isinstance(shape, botocore.model.StructureShape):
        return {k: unquote_policies(v, shape.members[k]) for k, v in value.items()}
    if isinstance(shape, botocore.model.ListShape):
        return [unquote_policies(v, shape.member) for v in value]
    if isinstance(shape, botocore.model.MapShape):
        return {k: unquote_policies(v, shape.value) for k, v in value.items()}
    if shape.name == "policyDocumentType":
        return urllib.parse.unquote(value)
    return value


def round_trip(service: str, operation: str, result: Mapping[str, Any]) -> dict[str, Any]:
    body = encode_response(MODELS[service], operation, result, "req-1")
    parsed = parse(service, operation, body)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    shape = BOTOCORE[service].operation_model(operation).output_shape
    return unquote_policies(parsed, shape) if shape is not None else parsed


def validation(model: QueryModel, body: bytes) -> str:
    with pytest.raises(errors.Validation) as caught:
        decode_request(model, body)
    return caught.value.message


# --- The models ------------------------------------------------------------------------------


def test_models_load_with_their_versions_and_namespaces() -> None:
    """Both vendored models load and name the API version and XML namespace AWS uses."""
    assert IAM.api_version == "2010-05-08"
    assert IAM.namespace == "https://iam.amazonaws.com/doc/2010-05-08/"
    assert STS.api_version == "2011-06-15"
    assert STS.namespace == "https://sts.amazonaws.com/doc/2011-06-15/"
    assert IAM.operations == set(BOTOCORE["iam"].operation_names)
    assert STS.operations == set(BOTOCORE["sts"].operation_names)


def test_unknown_service_is_refused() -> None:
    """load() accepts only the services it vendors a model for."""
    with pytest.raises(ValueError):
        QueryModel.load("kms")  # type: ignore[arg-type]


def test_non_query_model_is_refused() -> None:
    """A model of another protocol, or with a shape type we cannot read, is refused."""
    with pytest.raises(ValueError):
        QueryModel({"metadata": {"protocol": "json"}, "operations": {}, "shapes": {}})
    odd = {**SYNTHETIC, "shapes": {**SYNTHETIC["shapes"], "Char": {"type": "character"}}}
    with pytest.raises(ValueError, match="character"):
        QueryModel(odd)


@pytest.mark.parametrize(
    ("model", "code", "status"),
    [
        (IAM, "NoSuchEntity", 404),
        (IAM, "EntityAlreadyExists", 409),
        (IAM, "MalformedPolicyDocument", 400),
        (IAM, "LimitExceeded", 409),
        (IAM, "DeleteConflict", 409),
        (IAM, "InvalidInput", 400),
        (IAM, "ServiceFailure", 500),
        (STS, "ExpiredTokenException", 400),
        (STS, "RegionDisabledException", 403),
        (STS, "MalformedPolicyDocument", 400),
        (STS, "PackedPolicyTooLarge", 400),
    ],
)
def test_modeled_errors_carry_code_and_status(model: QueryModel, code: str, status: int) -> None:
    """Each modeled error is found by its wire code with the model's HTTP status."""
    assert model.errors[code].status == status
    assert error_status(model, code) == status
    assert model.errors[code].sender_fault is (status < 500)


def test_common_errors_have_documented_statuses() -> None:
    """Codes outside the model use AWS's common-error statuses, and 400 when unknown."""
    assert error_status(IAM, "ValidationError") == 400
    assert error_status(STS, "InvalidAction") == 400
    assert error_status(IAM, "MalformedQueryString") == 404
    assert error_status(IAM, "InternalFailure") == 500
    assert error_status(IAM, "NoSuchThing") == 400
    assert set(COMMON_ERROR_STATUS).isdisjoint(IAM.errors)


def test_error_without_trait_uses_shape_name() -> None:
    """An exception shape without an error trait is known by its shape name, status 400."""
    error = IAM.errors["OrganizationNotFoundException"]
    assert (error.status, error.sender_fault) == (400, True)


# --- Requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
def test_every_operation_decodes_what_botocore_serializes(service: str, operation: str) -> None:
    """A full input, serialized by botocore, decodes back to the same structure."""
    model = MODELS[service]
    spec = model.document["operations"][operation]
    params = build_input(model.document, spec["input"]["shape"]) if "input" in spec else {}
    assert decode_request(model, serialize(service, operation, params)) == (operation, params)


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
def test_every_operation_decodes_its_required_members_alone(service: str, operation: str) -> None:
    """The input holding only required members decodes to exactly those members."""
    model = MODELS[service]
    spec = model.document["operations"][operation]
    params: dict[str, Any] = {}
    if "input" in spec:
        shape = model.document["shapes"][spec["input"]["shape"]]
        full = build_input(model.document, spec["input"]["shape"])
        params = {m: full[m] for m in shape.get("required", ())}
    assert decode_request(model, serialize(service, operation, params)) == (operation, params)


def test_get_request_reads_the_query_string() -> None:
    """A GET carries its parameters in the query string, signature parameters ignored."""
    query = "Action=GetUser&Version=2010-05-08&UserName=alice&X-Amz-Signature=ab&X-Amz-Date=1"
    assert decode_request(IAM, b"", query) == ("GetUser", {"UserName": "alice"})


def test_empty_list_is_written_as_a_bare_name() -> None:
    """botocore writes an empty list as ``Name=``; it decodes to an empty list."""
    body = serialize("iam", "UntagUser", {"UserName": "bob", "TagKeys": []})
    assert body.endswith(b"&TagKeys=")
    assert decode_request(IAM, body) == ("UntagUser", {"UserName": "bob", "TagKeys": []})


def test_list_below_its_minimum_is_a_validation_error() -> None:
    """An empty list where the model asks for at least one element fails validation."""
    head = b"Action=ListPoliciesGrantingServiceAccess&Version=2010-05-08&Arn=" + b"a" * 20
    assert decode_request(IAM, head + b"&ServiceNamespaces.member.1=iam")[1] == {
        "Arn": "a" * 20,
        "ServiceNamespaces": ["iam"],
    }
    message = validation(IAM, head + b"&ServiceNamespaces=")
    assert "at 'serviceNamespaces' failed to satisfy constraint" in message
    assert "Member must have length greater than or equal to 1" in message


def test_list_elements_come_in_index_order() -> None:
    """List elements are ordered by their index, whatever order the form lists them in."""
    body = (
        b"Action=UntagUser&Version=2010-05-08&UserName=bob"
        b"&TagKeys.member.2=second&TagKeys.member.1=first"
    )
    assert decode_request(IAM, body)[1]["TagKeys"] == ["first", "second"]


def test_booleans_and_integers_are_converted() -> None:
    """``true``/``false`` become booleans and digits become integers of the model's type."""
    body = (
        b"Action=UpdateAccountPasswordPolicy&Version=2010-05-08"
        b"&MinimumPasswordLength=12&RequireSymbols=true&RequireNumbers=FALSE"
    )
    assert decode_request(IAM, body)[1] == {
        "MinimumPasswordLength": 12,
        "RequireSymbols": True,
        "RequireNumbers": False,
    }


@pytest.mark.parametrize(
    "bad",
    [
        b"MaxItems=ten",
        b"MaxItems=1.5",
        b"MaxItems=99999999999",
        b"MaxItems.member.1=1",
        b"PathPrefix.x=1",
    ],
)
def test_values_of_the_wrong_kind_are_serialization_errors(bad: bytes) -> None:
    """A value that cannot be read as its member's type raises Serialization."""
    with pytest.raises(errors.Serialization):
        decode_request(IAM, b"Action=ListUsers&Version=2010-05-08&" + bad)


def test_malformed_boolean_is_a_serialization_error() -> None:
    """A boolean member accepts only true or false."""
    body = b"Action=UpdateAccountPasswordPolicy&Version=2010-05-08&RequireSymbols=yes"
    with pytest.raises(errors.Serialization, match="RequireSymbols"):
        decode_request(IAM, body)


def test_bad_list_shapes_are_serialization_errors() -> None:
    """List parameters must use ``member.N`` with positive decimal indexes."""
    for tail in (b"TagKeys.item.1=a", b"TagKeys.member.0=a", b"TagKeys.member.x=a", b"TagKeys=a"):
        with pytest.raises(errors.Serialization):
            decode_request(IAM, b"Action=UntagUser&Version=2010-05-08&UserName=b&" + tail)


@pytest.mark.parametrize(
    "body",
    [
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=" + b"a" * 20 + b"&RoleSessionName=ss"
        b"&PolicyArns.member.1=x",
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=" + b"a" * 20 + b"&RoleSessionName=ss"
        b"&Tags.member=x&Tags.member.1.Key=k&Tags.member.1.Value=v",
    ],
)
def test_value_given_to_a_structure_or_list_is_refused(body: bytes) -> None:
    """A plain value where the model has a structure or a list raises Serialization."""
    with pytest.raises(errors.Serialization):
        decode_request(STS, body)


def test_operation_without_input_takes_no_parameters() -> None:
    """An operation with no input shape decodes to {} and refuses any parameter."""
    assert decode_request(IAM, b"Action=GetAccountSummary&Version=2010-05-08") == (
        "GetAccountSummary",
        {},
    )
    with pytest.raises(errors.Serialization, match="'UserName'"):
        decode_request(IAM, b"Action=GetAccountSummary&Version=2010-05-08&UserName=a")


def test_signature_parameters_are_ignored_only_when_not_members() -> None:
    """SigV2/SigV4 query parameters are skipped, but never shadow a member of that name."""
    body = b"Action=GetUser&Version=2010-05-08&Signature=x&AWSAccessKeyId=AKID&Timestamp=t"
    assert decode_request(IAM, body) == ("GetUser", {})
    model = QueryModel(
        {
            **SYNTHETIC,
            "shapes": {
                **SYNTHETIC["shapes"],
                "Payload": {"type": "structure", "members": {"Timestamp": {"shape": "Text"}}},
            },
        }
    )
    assert decode_request(model, b"Action=Echo&Version=2020-01-01&Timestamp=t")[1] == {
        "Timestamp": "t"
    }


def test_repeated_parameter_is_refused() -> None:
    """The same parameter twice is ambiguous and raises Serialization."""
    with pytest.raises(errors.Serialization, match="more than once"):
        decode_request(IAM, b"Action=GetUser&Version=2010-05-08&UserName=a&UserName=b")


def test_body_that_is_not_utf8_is_refused() -> None:
    """Bytes or percent-escapes that are not UTF-8 raise Serialization."""
    with pytest.raises(errors.Serialization):
        decode_request(IAM, b"Action=GetUser&Version=2010-05-08&UserName=\xff")
    with pytest.raises(errors.Serialization):
        decode_request(IAM, b"Action=GetUser&Version=2010-05-08&UserName=%ff")


def test_unknown_parameter_is_refused_by_default() -> None:
    """A parameter the model does not name raises Serialization naming it."""
    with pytest.raises(errors.Serialization, match="'Colour'"):
        decode_request(IAM, b"Action=GetUser&Version=2010-05-08&Colour=red")
    with pytest.raises(errors.Serialization, match="'Colour'"):
        decode_request(STS, b"Action=GetCallerIdentity&Version=2011-06-15&Colour=red")
    with pytest.raises(errors.Serialization, match="unprintable"):
        decode_request(IAM, b"Action=GetUser&Version=2010-05-08&%3Cx%3E=red")


def test_unknown_parameter_is_dropped_when_the_policy_says_ignore() -> None:
    """With unknown_members='ignore' a stray parameter is dropped, as AWS's front end does."""
    lenient = QueryModel(IAM.document, policy=InputPolicy(unknown_members="ignore"))
    body = b"Action=GetUser&Version=2010-05-08&UserName=a&Colour=red&Tags.member.1.Key=k"
    assert decode_request(lenient, body) == ("GetUser", {"UserName": "a"})
    sts = QueryModel(STS.document, policy=InputPolicy(unknown_members="ignore"))
    assert decode_request(sts, b"Action=GetCallerIdentity&Version=2011-06-15&X=1")[1] == {}


def test_unknown_action_is_invalid_action() -> None:
    """An Action the model lacks fails with AWS's 'Could not find operation' text."""
    with pytest.raises(errors.UnknownOperation) as caught:
        decode_request(IAM, b"Action=GetSecretValue&Version=2010-05-08")
    assert caught.value.message == "Could not find operation GetSecretValue for version 2010-05-08"


def test_wrong_or_missing_version_is_invalid_action() -> None:
    """A Version other than the model's (or none) fails like an unknown action."""
    with pytest.raises(errors.UnknownOperation) as caught:
        decode_request(STS, b"Action=GetCallerIdentity&Version=2010-05-08")
    assert (
        caught.value.message == "Could not find operation GetCallerIdentity for version 2010-05-08"
    )
    with pytest.raises(errors.UnknownOperation) as caught:
        decode_request(STS, b"Action=GetCallerIdentity")
    assert caught.value.message == "Could not find operation GetCallerIdentity for version "


def test_missing_action_is_refused() -> None:
    """A request without an Action raises UnknownOperation with the MissingAction text."""
    for body in (b"Version=2010-05-08", b"Action=&Version=2010-05-08", b""):
        with pytest.raises(errors.UnknownOperation, match="missing an action"):
            decode_request(IAM, body)
    with pytest.raises(errors.Serialization):
        decode_request(IAM, b"Action.x=GetUser&Version=2010-05-08")


# --- Validation messages ---------------------------------------------------------------------


def test_pattern_failure_uses_aws_words() -> None:
    """A user name outside the pattern names the value, the camelCase path and the pattern."""
    message = validation(IAM, b"Action=GetUser&Version=2010-05-08&UserName=bad%2Fname")
    assert message == (
        "1 validation error detected: Value 'bad/name' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_missing_required_member_is_reported_as_null() -> None:
    """A required member that is absent is 'Value null ... Member must not be null'."""
    message = validation(IAM, b"Action=CreateUser&Version=2010-05-08")
    assert message == (
        "1 validation error detected: Value null at 'userName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_several_failures_are_counted_in_member_order() -> None:
    """Several failures are framed as 'N validation errors detected', in the model's order."""
    message = validation(IAM, b"Action=ListUsers&Version=2010-05-08&MaxItems=1001&PathPrefix=x")
    assert message == (
        "2 validation errors detected: Value 'x' at 'pathPrefix' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*; "
        "Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value "
        "less than or equal to 1000"
    )


def test_nested_list_paths_follow_aws() -> None:
    """A bad tag value is reported at 'tags.1.member.value'."""
    body = serialize("iam", "TagUser", {"UserName": "bob", "Tags": [{"Key": "k", "Value": "<"}]})
    assert "Value '<' at 'tags.1.member.value' failed to satisfy constraint" in validation(
        IAM, body
    )


def test_enum_failure_lists_the_values() -> None:
    """An enum member outside its set names the allowed values."""
    body = b"Action=ListPolicies&Version=2010-05-08&Scope=Nobody"
    assert "Member must satisfy enum value set: [All, AWS, Local]" in validation(IAM, body)


def test_sensitive_values_are_not_echoed() -> None:
    """A constraint failure on a sensitive member names the path but never the value."""
    body = b"Action=ChangePassword&Version=2010-05-08&OldPassword=&NewPassword=secret"
    message = validation(IAM, body)
    assert "at 'oldPassword'" in message
    assert "secret" not in message


# --- Responses -------------------------------------------------------------------------------

REPRESENTATIVE_RESULTS: dict[str, dict[str, Any]] = {
    "GetUser": {
        "User": {
            "Path": "/",
            "UserName": "alice",
            "UserId": "AIDAEXAMPLE0000000001",
            "Arn": "arn:aws:iam::123456789012:user/alice",
            "CreateDate": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "Tags": [{"Key": "team", "Value": "a&b <c>"}],
        }
    },
    "ListUsers": {"Users": [], "IsTruncated": False},
    "CreateAccessKey": {
        "AccessKey": {
            "UserName": "alice",
            "AccessKeyId": "AKIAEXAMPLE",
            "Status": "Active",
            "SecretAccessKey": "wJalr/K7MDENG+bPxRfiCY",
            "CreateDate": MOMENT,
        }
    },
    "GetUserPolicy": {
        "UserName": "alice",
        "PolicyName": "p",
        "PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": []}),
    },
    "GetCallerIdentity": {
        "UserId": "AIDAEXAMPLE",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:user/alice",
    },
    "GetSessionToken": {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": MOMENT,
        }
    },
}


@pytest.mark.parametrize(("service", "operation"), REPRESENTATIVE)
def test_representative_operations_round_trip_through_botocore(
    service: str, operation: str
) -> None:
    """A result for each representative operation parses back in botocore as sent."""
    model = MODELS[service]
    result = REPRESENTATIVE_RESULTS.get(operation)
    if result is None:
        spec = model.document["operations"][operation]
        result = build_output(model.document, spec["output"]["shape"]) if "output" in spec else {}
    assert round_trip(service, operation, result) == result


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
def test_every_operation_output_round_trips_through_botocore(service: str, operation: str) -> None:
    """A full generated output of every operation parses back in botocore unchanged."""
    model = MODELS[service]
    spec = model.document["operations"][operation]
    result = build_output(model.document, spec["output"]["shape"]) if "output" in spec else {}
    assert round_trip(service, operation, result) == result


def test_response_layout_matches_aws() -> None:
    """The body is <OpResponse xmlns><OpResult>..</OpResult><ResponseMetadata>.. in order."""
    body = encode_response(STS, "GetCallerIdentity", {"Account": "1"}, "rid")
    assert body == (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult>"
        b"<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
        b"</GetCallerIdentityResponse>"
    )


def test_operation_without_output_has_only_metadata() -> None:
    """DeleteUser's response holds only ResponseMetadata, which botocore reads."""
    body = encode_response(IAM, "DeleteUser", {}, "rid-2")
    assert b"Result" not in body
    assert parse("iam", "DeleteUser", body)["ResponseMetadata"]["RequestId"] == "rid-2"
    with pytest.raises(errors.InternalError):
        encode_response(IAM, "DeleteUser", {"User": {}}, "rid")


def test_timestamps_and_booleans_are_written_as_aws_does() -> None:
    """Timestamps are ISO 8601 UTC with Z (milliseconds only when present); booleans lower."""
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    body = encode_response(
        IAM,
        "ListUsers",
        {"Users": [{"CreateDate": at}, {"CreateDate": 0.25}], "IsTruncated": True},
        "r",
    )
    assert b"<CreateDate>2026-01-02T01:04:05Z</CreateDate>" in body
    assert b"<CreateDate>1970-01-01T00:00:00.250Z</CreateDate>" in body
    assert b"<IsTruncated>true</IsTruncated>" in body


def test_policy_documents_are_url_encoded_for_botocore() -> None:
    """IAM policy documents are URL-encoded, and botocore's handler turns them into dicts."""
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    result = {"UserName": "a", "PolicyName": "p", "PolicyDocument": json.dumps(document)}
    body = encode_response(IAM, "GetUserPolicy", result, "r")
    assert b"%7B%22Version%22" in body
    parsed = parse("iam", "GetUserPolicy", body)
    json_decode_policies(parsed, BOTOCORE["iam"].operation_model("GetUserPolicy"))
    assert parsed["PolicyDocument"] == document


def test_text_that_xml_cannot_carry_is_replaced() -> None:
    """NUL and other characters XML 1.0 forbids become U+FFFD so the body still parses."""
    body = encode_response(STS, "GetCallerIdentity", {"Account": "a\x00b\udcff"}, "r")
    assert parse("sts", "GetCallerIdentity", body)["Account"] == "a\ufffdb\ufffd"


@pytest.mark.parametrize(
    "result",
    [
        {"User": {"UserName": 5}},
        {"User": {"Colour": "red"}},
        {"User": "alice"},
        {"User": {"Tags": "x"}},
        {"User": {"CreateDate": "yesterday"}},
        {"User": {"PermissionsBoundary": {"PermissionsBoundaryType": 1}}},
    ],
)
def test_results_that_do_not_fit_the_model_are_internal_errors(result: dict[str, Any]) -> None:
    """A service result the output shape cannot hold raises InternalError, never bad XML."""
    with pytest.raises(errors.InternalError):
        encode_response(IAM, "GetUser", result, "r")


def test_unknown_operation_cannot_be_encoded() -> None:
    """encode_response refuses an operation the model lacks."""
    with pytest.raises(errors.UnknownOperation):
        encode_response(IAM, "GetSecretValue", {}, "r")


def test_none_members_are_left_out() -> None:
    """A member whose value is None is absent from the XML."""
    body = encode_response(IAM, "ListUsers", {"Users": [], "Marker": None}, "r")
    assert b"Marker" not in body


# --- Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "code"),
    [(service, code) for service in MODELS for code in sorted(MODELS[service].errors)],
)
def test_every_modeled_error_parses_in_botocore(service: str, code: str) -> None:
    """Each modeled error's body gives botocore its code, message, type and request id."""
    model = MODELS[service]
    shape = model.errors[code]
    message = "Nothing <here> & 'there'"
    body = encode_error(code, message, "rid-9", shape.sender_fault, model=model)
    assert body.startswith(f'<ErrorResponse xmlns="{model.namespace}">'.encode())
    parsed = parse(service, "GetCallerIdentity" if service == "sts" else "GetUser", body, 400)
    assert parsed["Error"] == {
        "Type": "Sender" if shape.sender_fault else "Receiver",
        "Code": code,
        "Message": message,
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
    assert error_status(model, code) == shape.status


class _Raw:
    """The raw stream botocore reads an HTTP response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def client_answering(service: str, status: int, body: bytes) -> Any:
    """A real botocore client whose HTTP exchange returns ``status`` and ``body``."""
    client = SESSION.create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Raw(body))

    client.meta.events.register("before-send", answer)
    return client


def test_botocore_client_raises_the_modeled_exception() -> None:
    """A full botocore client turns our error body into NoSuchEntityException with 404."""
    body = encode_error("NoSuchEntity", "The user with name bob cannot be found.", "rid", model=IAM)
    client = client_answering("iam", error_status(IAM, "NoSuchEntity"), body)
    with pytest.raises(client.exceptions.NoSuchEntityException) as caught:
        client.get_user(UserName="bob")
    response = caught.value.response
    assert response["Error"]["Code"] == "NoSuchEntity"
    assert response["Error"]["Message"] == "The user with name bob cannot be found."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"] == "rid"


def test_botocore_client_reads_a_policy_document_as_a_dict() -> None:
    """Through a full botocore client, GetUserPolicy's document arrives as a parsed dict."""
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*"}]}
    result = {"UserName": "a", "PolicyName": "p", "PolicyDocument": json.dumps(document)}
    client = client_answering("iam", 200, encode_response(IAM, "GetUserPolicy", result, "r"))
    assert client.get_user_policy(UserName="a", PolicyName="p")["PolicyDocument"] == document


def test_sts_client_reads_temporary_credentials() -> None:
    """Through a full botocore client, AssumeRole's credentials and expiry arrive intact."""
    result = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "s/e+c",
            "SessionToken": "t&k",
            "Expiration": MOMENT,
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::1:assumed-role/r/s"},
        "PackedPolicySize": 6,
    }
    client = client_answering("sts", 200, encode_response(STS, "AssumeRole", result, "r"))
    answer = client.assume_role(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="s1")
    answer.pop("ResponseMetadata")
    assert answer == result


# --- Fuzzing ---------------------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "Action",
        "Version",
        "UserName",
        "Tags",
        "Tags.member",
        "Tags.member.1",
        "Tags.member.1.Key",
        "Tags.member.2.Value",
        "Tags.member.0.Key",
        "MaxItems",
        "Marker",
        "Policies.member.1",
        "RoleArn",
        "DurationSeconds",
        "PolicyArns.member.1.arn",
        "X-Amz-Signature",
        "",
        ".",
        "a..b",
    ]
)
_VALUES = st.sampled_from(
    ["", "GetUser", "TagUser", "AssumeRole", "2010-05-08", "2011-06-15", "true", "-1", "1e3"]
) | st.text(max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=st.sampled_from(["iam", "sts"]),
    fields=st.lists(st.tuples(_NAMES | st.text(max_size=10), _VALUES), max_size=8),
    raw=st.binary(max_size=40),
)
def test_random_forms_only_raise_service_errors(
    service: str, fields: list[tuple[str, str]], raw: bytes
) -> None:
    """Whatever form arrives, decode_request returns or raises a ServiceError subclass."""
    model = MODELS[service]
    for body in (form(fields), raw, form(fields) + b"&" + raw):
        try:
            operation, params = decode_request(model, body, urllib.parse.urlencode(fields[:1]))
        except errors.ServiceError:
            continue
        assert operation in model.operations
        assert isinstance(params, dict)


# --- Shapes the IAM and STS models do not use ------------------------------------------------

SYNTHETIC: dict[str, Any] = {
    "version": "2.0",
    "metadata": {
        "apiVersion": "2020-01-01",
        "endpointPrefix": "demo",
        "protocol": "query",
        "serviceId": "Demo",
        "signatureVersion": "v4",
        "xmlNamespace": "https://demo.example/doc/2020-01-01/",
    },
    "operations": {
        "Echo": {
            "name": "Echo",
            "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "Payload"},
            "output": {"shape": "Payload", "resultWrapper": "EchoResult"},
        }
    },
    "shapes": {
        "Payload": {
            "type": "structure",
            "members": {
                "Attributes": {"shape": "AttributeMap"},
                "Flat": {"shape": "FlatList"},
                "Named": {"shape": "NamedList", "locationName": "Renamed"},
                "When": {"shape": "Moment"},
                "Data": {"shape": "Data"},
                "Ratio": {"shape": "Ratio"},
                "Big": {"shape": "Big"},
                "FlatMap": {"shape": "FlatMap"},
                "FlatNamed": {"shape": "FlatNamedList"},
            },
        },
        "AttributeMap": {
            "type": "map",
            "key": {"shape": "Text", "locationName": "Name"},
            "value": {"shape": "Text", "locationName": "Value"},
        },
        "FlatMap": {
            "type": "map",
            "key": {"shape": "Text"},
            "value": {"shape": "Text"},
            "flattened": True,
        },
        "FlatList": {"type": "list", "member": {"shape": "Text"}, "flattened": True},
        "FlatNamedList": {
            "type": "list",
            "member": {"shape": "Text", "locationName": "Thing"},
            "flattened": True,
        },
        "NamedList": {"type": "list", "member": {"shape": "Text", "locationName": "Item"}},
        "Text": {"type": "string"},
        "Moment": {"type": "timestamp"},
        "Data": {"type": "blob"},
        "Ratio": {"type": "double"},
        "Big": {"type": "long"},
    },
}
DEMO = QueryModel(SYNTHETIC)
DEMO_BOTOCORE = botocore.model.ServiceModel(SYNTHETIC, "demo")
DEMO_VALUE: dict[str, Any] = {
    "Attributes": {"colour": "blue", "size": "L"},
    "Flat": ["x", "y"],
    "Named": ["p", "q"],
    "When": MOMENT,
    "Data": b"\x00\x01",
    "Ratio": 0.5,
    "Big": 2**40,
    "FlatMap": {"a": "1"},
    "FlatNamed": ["t1", "t2"],
}


def test_maps_flattened_lists_and_scalars_decode_from_botocore() -> None:
    """Maps, flattened and renamed lists, timestamps, blobs, doubles and longs decode."""
    request = SERIALIZER.serialize_to_request(DEMO_VALUE, DEMO_BOTOCORE.operation_model("Echo"))
    assert "Attributes.entry.1.Name" in request["body"]
    assert "Flat.1" in request["body"]
    assert "Thing.2" in request["body"]
    operation, params = decode_request(DEMO, form(request["body"]))
    assert operation == "Echo"
    assert params == {
        **DEMO_VALUE,
        "When": MOMENT.timestamp(),
    }


def test_maps_flattened_lists_and_scalars_encode_for_botocore() -> None:
    """The same shapes written by encode_response parse back in botocore unchanged."""
    body = encode_response(DEMO, "Echo", DEMO_VALUE, "r")
    parser = botocore.parsers.create_parser("query")
    shape = DEMO_BOTOCORE.operation_model("Echo").output_shape
    parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
    parsed.pop("ResponseMetadata")
    assert parsed == DEMO_VALUE


def test_special_doubles_and_bad_scalars() -> None:
    """Non-finite doubles are written as AWS spells them; unreadable input scalars fail."""
    body = encode_response(DEMO, "Echo", {"Ratio": float("inf")}, "r")
    assert b"<Ratio>Infinity</Ratio>" in body
    assert b"<Ratio>NaN</Ratio>" in encode_response(DEMO, "Echo", {"Ratio": float("nan")}, "r")
    for bad in (b"Ratio=inf", b"Ratio=x", b"When=yesterday", b"Data=!!", b"Flat=x"):
        with pytest.raises(errors.InputError):
            decode_request(DEMO, b"Action=Echo&Version=2020-01-01&" + bad)
    naive = decode_request(DEMO, b"Action=Echo&Version=2020-01-01&When=1970-01-01T00:00:10")
    assert naive[1] == {"When": 10.0}


def test_malformed_map_entries_are_refused() -> None:
    """A map entry lacking its key or value, or repeating a key, raises Serialization."""
    head = b"Action=Echo&Version=2020-01-01&"
    for bad in (
        b"Attributes.entry.1.Name=a",
        b"Attributes.entry.1.Name=a&Attributes.entry.1.Value=b&Attributes.entry.1.X=c",
        b"Attributes.entry.1.Name=a&Attributes.entry.1.Value=b"
        b"&Attributes.entry.2.Name=a&Attributes.entry.2.Value=c",
        b"Attributes.other.1.Name=a",
        b"Attributes=x",
        b"Attributes.entry=x&Attributes.entry.1.Name=a&Attributes.entry.1.Value=b",
        b"FlatMap=x",
    ):
        with pytest.raises(errors.Serialization):
            decode_request(DEMO, head + bad)
    assert decode_request(DEMO, head + b"Attributes=")[1] == {"Attributes": {}}
    assert decode_request(DEMO, head + b"Flat=")[1] == {"Flat": []}


@pytest.mark.parametrize(
    "result",
    [
        {"Attributes": "x"},
        {"FlatMap": ["a"]},
        {"Ratio": "1"},
        {"Big": True},
        {"Big": 1.5},
        {"Data": "AAE="},
        {"Flat": "ab"},
    ],
)
def test_demo_results_of_the_wrong_type_are_internal_errors(result: dict[str, Any]) -> None:
    """Each scalar and aggregate kind refuses a value of another Python type."""
    with pytest.raises(errors.InternalError):
        encode_response(DEMO, "Echo", result, "r")


def test_boolean_result_must_be_a_bool() -> None:
    """A boolean member given a string raises InternalError."""
    with pytest.raises(errors.InternalError):
        encode_response(IAM, "ListUsers", {"Users": [], "IsTruncated": "yes"}, "r")
