"""Input checking against the botocore model: types, constraints, AWS wording, secrecy."""

from __future__ import annotations

import base64
import json
import timeit
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies_model import input_for, minimal_input
from strongroom import errors
from strongroom.protocol.shapes import (
    DEFAULT_OVERRIDES,
    ConstraintOverride,
    InputPolicy,
    ServiceModel,
)

MODEL = ServiceModel.load()
OPERATIONS = sorted(MODEL.operations)
TOKEN = "0123456789abcdef0123456789abcdef"  # 32 characters


def serialization(operation: str, body: object) -> str:
    with pytest.raises(errors.Serialization) as caught:
        MODEL.validate_input(operation, body)
    return caught.value.message


def validation(operation: str, body: object, model: ServiceModel = MODEL) -> str:
    with pytest.raises(errors.Validation) as caught:
        model.validate_input(operation, body)
    return caught.value.message


def deep(levels: int, leaf: Any = 1) -> Any:
    """A value nested ``levels`` deep, alternating lists and objects, built without recursion."""
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"A": value}
    return value


# --- The model ---------------------------------------------------------------------------------


def test_default_model_is_secrets_manager() -> None:
    """The vendored model loads by default and names the Secrets Manager target prefix."""
    assert MODEL.target_prefix == "secretsmanager"
    assert {"GetSecretValue", "CreateSecret", "ListSecrets"} <= MODEL.operations
    assert len(MODEL.operations) == len(MODEL.document["operations"])


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_accepts_its_minimal_input(operation: str) -> None:
    """The smallest body built from the model (required members at their minimum) passes."""
    body = minimal_input(MODEL, operation)
    checked = MODEL.validate_input(operation, body)
    required = MODEL.document["shapes"][MODEL.document["operations"][operation]["input"]["shape"]]
    assert set(checked) == set(required.get("required", ()))


def test_unknown_operation_is_refused() -> None:
    """An operation the model does not name raises UnknownOperation for input and output."""
    with pytest.raises(errors.UnknownOperation):
        MODEL.validate_input("GetSecretValues", {})
    with pytest.raises(errors.UnknownOperation):
        MODEL.output_members("GetSecretValues")


def test_output_members_are_the_output_shape_members() -> None:
    """output_members lists the top-level output members, and nothing for void outputs."""
    assert MODEL.output_members("GetSecretValue") == {
        "ARN",
        "Name",
        "VersionId",
        "SecretBinary",
        "SecretString",
        "VersionStages",
        "CreatedDate",
    }
    assert MODEL.output_members("TagResource") == frozenset()


def test_result_is_a_new_dict_without_nulls() -> None:
    """The checked input is a fresh dict; null members are dropped like absent ones."""
    body = {"SecretId": "prod/db", "VersionId": None, "VersionStage": "AWSCURRENT"}
    checked = MODEL.validate_input("GetSecretValue", body)
    assert checked == {"SecretId": "prod/db", "VersionStage": "AWSCURRENT"}
    assert checked is not body
    assert body["VersionId"] is None


def test_nested_values_are_converted() -> None:
    """Nested structures, lists and null list elements come back checked and cleaned."""
    body = {
        "Name": "n",
        "Tags": [{"Key": "team", "Value": "core"}, None],
        "AddReplicaRegions": [{"Region": "eu-west-1"}],
    }
    checked = MODEL.validate_input("CreateSecret", body)
    assert checked["Tags"] == [{"Key": "team", "Value": "core"}]
    assert checked["AddReplicaRegions"] == [{"Region": "eu-west-1"}]


# --- Serialization: wrong JSON types -----------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "body", "message"),
    [
        # string members
        ("GetSecretValue", {"SecretId": 1}, "NUMBER_VALUE can not be converted to a String"),
        ("GetSecretValue", {"SecretId": 1.5}, "NUMBER_VALUE can not be converted to a String"),
        ("GetSecretValue", {"SecretId": True}, "TRUE_VALUE can not be converted to a String"),
        ("GetSecretValue", {"SecretId": False}, "FALSE_VALUE can not be converted to a String"),
        ("GetSecretValue", {"SecretId": ["x"]}, "Start of list found where not expected"),
        (
            "GetSecretValue",
            {"SecretId": {"a": 1}},
            "Start of structure or map found where not expected.",
        ),
        # integer members
        ("ListSecrets", {"MaxResults": "1"}, "STRING_VALUE can not be converted to an Integer"),
        ("ListSecrets", {"MaxResults": True}, "TRUE_VALUE can not be converted to an Integer"),
        ("ListSecrets", {"MaxResults": 1.5}, "NUMBER_VALUE can not be converted to an Integer"),
        ("ListSecrets", {"MaxResults": 2**31}, "NUMBER_VALUE can not be converted to an Integer"),
        ("ListSecrets", {"MaxResults": [1]}, "Start of list found where not expected"),
        # long members
        (
            "DeleteSecret",
            {"SecretId": "s", "RecoveryWindowInDays": "7"},
            "STRING_VALUE can not be converted to a Long",
        ),
        (
            "DeleteSecret",
            {"SecretId": "s", "RecoveryWindowInDays": 2**63},
            "NUMBER_VALUE can not be converted to a Long",
        ),
        # boolean members
        (
            "ListSecrets",
            {"IncludePlannedDeletion": "true"},
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            "ListSecrets",
            {"IncludePlannedDeletion": 1},
            "NUMBER_VALUE can not be converted to a Boolean",
        ),
        # blob members
        (
            "CreateSecret",
            {"Name": "n", "SecretBinary": 7},
            "NUMBER_VALUE can not be converted to a Blob",
        ),
        (
            "CreateSecret",
            {"Name": "n", "SecretBinary": ["aGk="]},
            "Start of list found where not expected",
        ),
        # lists, maps and structures
        ("ListSecrets", {"Filters": "name"}, "Expected list or null"),
        ("ListSecrets", {"Filters": 3}, "Expected list or null"),
        (
            "ListSecrets",
            {"Filters": {"Key": "name"}},
            "Start of structure or map found where not expected.",
        ),
        ("ListSecrets", {"Filters": ["name"]}, "Expected null"),
        ("ListSecrets", {"Filters": [["name"]]}, "Start of list found where not expected"),
        ("ListSecrets", {"Filters": [{"Values": "x"}]}, "Expected list or null"),
        (
            "ListSecrets",
            {"Filters": [{"Values": [1]}]},
            "NUMBER_VALUE can not be converted to a String",
        ),
        ("RotateSecret", {"SecretId": "s", "RotationRules": True}, "Expected null"),
        (
            "RotateSecret",
            {"SecretId": "s", "RotationRules": []},
            "Start of list found where not expected",
        ),
    ],
)
def test_wrong_json_types_are_serialization_errors(
    operation: str, body: dict[str, Any], message: str
) -> None:
    """A JSON value of the wrong kind raises Serialization with AWS's type-mismatch text."""
    assert serialization(operation, body) == message


@pytest.mark.parametrize("body", ["x", 1, 1.5, True, None])
def test_body_that_is_not_an_object_is_a_serialization_error(body: object) -> None:
    """A scalar body raises Serialization (AWS sends no message; we use the class default)."""
    assert serialization("GetSecretValue", body) == errors.Serialization.default_message


def test_body_that_is_a_list_gets_the_list_text() -> None:
    """A top-level array raises Serialization with AWS's list text."""
    assert serialization("GetSecretValue", [{"SecretId": "x"}]) == (
        "Start of list found where not expected"
    )


def test_type_error_wins_over_constraint_errors() -> None:
    """When the body cannot be read, no constraint is reported (AWS reads before it checks)."""
    assert serialization("ListSecrets", {"MaxResults": 0, "SortOrder": 5}) == (
        "NUMBER_VALUE can not be converted to a String"
    )


def test_unknown_members_are_serialization_errors() -> None:
    """A member the model does not name is refused at the top level and inside structures."""
    assert serialization("GetSecretValue", {"SecretId": "s", "Secretid": "t"}) == (
        "Unrecognized member 'Secretid' in GetSecretValueRequest."
    )
    assert serialization("TagResource", {"SecretId": "s", "Tags": [{"Key": "k", "Colour": 1}]}) == (
        "Unrecognized member 'Colour' in Tag."
    )


def test_unknown_member_names_are_not_echoed_when_odd() -> None:
    """An unknown member whose name is not a plain identifier is refused without echoing it."""
    message = serialization("GetSecretValue", {"SecretId": "s", "p@ss w0rd!": 1})
    assert message == "Unrecognized member in GetSecretValueRequest."


def test_unknown_members_can_be_ignored_as_aws_does() -> None:
    """With unknown_members='ignore', unknown members are dropped like AWS's front end does."""
    lenient = ServiceModel.load(policy=InputPolicy(unknown_members="ignore"))
    assert lenient.validate_input("GetSecretValue", {"SecretId": "s", "Extra": {"x": [1]}}) == {
        "SecretId": "s"
    }


def test_fractions_can_be_truncated_as_aws_does() -> None:
    """With fractional_numbers='truncate', 7.9 for a long becomes 7; non-finite still fails."""
    lenient = ServiceModel.load(policy=InputPolicy(fractional_numbers="truncate"))
    body = {"SecretId": "s", "RecoveryWindowInDays": 7.9}
    assert lenient.validate_input("DeleteSecret", body)["RecoveryWindowInDays"] == 7
    with pytest.raises(errors.Serialization):
        lenient.validate_input("DeleteSecret", {"SecretId": "s", "RecoveryWindowInDays": 1e300})


# --- Blobs ---------------------------------------------------------------------------------------


def test_blobs_are_base64_decoded() -> None:
    """A blob member comes back as the decoded bytes."""
    raw = bytes(range(256))
    body = {"Name": "n", "SecretBinary": base64.b64encode(raw).decode()}
    assert MODEL.validate_input("CreateSecret", body)["SecretBinary"] == raw


@pytest.mark.parametrize("text", ["aGVsbG8", "aGVs bG8=", "!!!!", "aGVsbG9=", "é===", "YQ==\n"])
def test_invalid_base64_is_a_serialization_error_without_the_value(text: str) -> None:
    """Bad or non-canonical base64 raises Serialization, and the text never echoes it."""
    message = serialization("CreateSecret", {"Name": "n", "SecretBinary": text})
    assert message == "Invalid Base64 encoding: the value can not be converted to a Blob"


def test_empty_blob_fails_the_minimum_length() -> None:
    """An empty SecretBinary decodes to zero bytes and fails its minimum, without a value."""
    assert validation("CreateSecret", {"Name": "n", "SecretBinary": ""}) == (
        "1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


# --- Validation: each constraint kind ------------------------------------------------------------


_NOT_NULL = "Member must not be null"
_MAP_FOUND = "Start of structure or map found where not expected."
_FILTER_RULES = (
    "Member must satisfy constraint: [Member must have length less than or equal to 512, "
    "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$]"
)
_REGION_RULES = (
    "Member must satisfy constraint: [Member must have length less than or equal to 128, "
    "Member must have length greater than or equal to 1, "
    "Member must satisfy regular expression pattern: ^([a-z]+-)+\\d+$]"
)
_FILTER_KEYS = "[description, name, tag-key, tag-value, primary-region, owning-service, all]"
_IDS = [str(i) for i in range(21)]


@pytest.mark.parametrize(
    ("operation", "body", "head", "path", "constraint"),
    [
        ("GetSecretValue", {}, "Value null", "secretId", _NOT_NULL),
        ("GetSecretValue", {"SecretId": None}, "Value null", "secretId", _NOT_NULL),
        (
            "GetSecretValue",
            {"SecretId": ""},
            "Value ''",
            "secretId",
            "Member must have length greater than or equal to 1",
        ),
        (
            "CreateSecret",
            {"Name": "n" * 513},
            f"Value '{'n' * 513}'",
            "name",
            "Member must have length less than or equal to 512",
        ),
        (
            "ListSecrets",
            {"MaxResults": 0},
            "Value '0'",
            "maxResults",
            "Member must have value greater than or equal to 1",
        ),
        (
            "ListSecrets",
            {"MaxResults": 101},
            "Value '101'",
            "maxResults",
            "Member must have value less than or equal to 100",
        ),
        (
            "GetRandomPassword",
            {"PasswordLength": 4097},
            "Value '4097'",
            "passwordLength",
            "Member must have value less than or equal to 4096",
        ),
        (
            "ListSecrets",
            {"SortOrder": "up"},
            "Value 'up'",
            "sortOrder",
            "Member must satisfy enum value set: [asc, desc]",
        ),
        (
            "RotateSecret",
            {"SecretId": "s", "RotationRules": {"Duration": "12"}},
            "Value '12'",
            "rotationRules.duration",
            "Member must satisfy regular expression pattern: [0-9]+h",
        ),
        (
            "BatchGetSecretValue",
            {"SecretIdList": []},
            "Value '[]'",
            "secretIdList",
            "Member must have length greater than or equal to 1",
        ),
        (
            "BatchGetSecretValue",
            {"SecretIdList": _IDS},
            "Value '[" + ", ".join(_IDS) + "]'",
            "secretIdList",
            "Member must have length less than or equal to 20",
        ),
        (
            "TagResource",
            {"SecretId": "s", "Tags": [{"Key": "a"}, {"Key": ""}]},
            "Value ''",
            "tags.2.member.key",
            "Member must have length greater than or equal to 1",
        ),
        (
            "ListSecrets",
            {"Filters": [{"Key": "all", "Values": ["ok", "bad*"]}]},
            "Value '[ok, bad*]'",
            "filters.1.member.values",
            _FILTER_RULES,
        ),
        (
            "RemoveRegionsFromReplication",
            {"SecretId": "s", "RemoveReplicaRegions": ["eu-west-1", ""]},
            "Value '[eu-west-1, ]'",
            "removeReplicaRegions",
            _REGION_RULES,
        ),
        (
            "ListSecrets",
            {"Filters": [{"Key": "colour", "Values": ["x"]}]},
            "Value 'colour'",
            "filters.1.member.key",
            f"Member must satisfy enum value set: {_FILTER_KEYS}",
        ),
    ],
)
def test_each_constraint_kind_uses_the_aws_format(
    operation: str, body: dict[str, Any], head: str, path: str, constraint: str
) -> None:
    """One failed constraint reads '1 validation error detected: Value ... at ...: ...'."""
    assert validation(operation, body) == (
        f"1 validation error detected: {head} at '{path}' failed to satisfy constraint: "
        f"{constraint}"
    )


def test_several_failures_are_counted_and_joined_in_model_order() -> None:
    """Failures are numbered, joined by '; ' and listed in the model's member order."""
    body = {"VersionId": "short", "SecretId": None}
    assert validation("GetSecretValue", body) == (
        "2 validation errors detected: "
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null; "
        "Value 'short' at 'versionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 32"
    )


def test_pattern_failure_is_listed_before_length_failure_of_the_same_value() -> None:
    """A value breaking its pattern and its length reports both, pattern first."""
    body = {"SecretId": "s", "RotationRules": {"Duration": "x"}}
    assert validation("RotateSecret", body) == (
        "2 validation errors detected: "
        "Value 'x' at 'rotationRules.duration' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [0-9]+h; "
        "Value 'x' at 'rotationRules.duration' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2"
    )


def test_at_most_ten_failures_are_reported() -> None:
    """A body with many failures lists the first ten only, keeping the message bounded."""
    tags = [{"Key": ""} for _ in range(15)]
    message = validation("TagResource", {"SecretId": "s", "Tags": tags})
    assert message.startswith("10 validation errors detected: ")
    assert message.count("failed to satisfy constraint") == 10
    assert "tags.10.member.key" in message
    assert "tags.11.member.key" not in message


# --- Sensitive values ----------------------------------------------------------------------------


def test_sensitive_member_failures_name_the_member_without_its_value() -> None:
    """SecretString failures read 'Value at' with no value, as AWS reports them."""
    secret = "hunter2" * 10_000
    message = validation("CreateSecret", {"Name": "n", "SecretString": secret})
    assert message == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536"
    )
    assert validation("CreateSecret", {"Name": "n", "SecretString": ""}) == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.text(min_size=1, max_size=12),
    extra=st.integers(1, 5),
    operation=st.sampled_from(["CreateSecret", "PutSecretValue", "UpdateSecret"]),
)
def test_random_oversized_secret_strings_never_reach_the_message(
    seed: str, extra: int, operation: str
) -> None:
    """Any SecretString over 65536 characters yields the fixed text, never the value."""
    secret = (seed * (65536 // len(seed) + 1))[: 65536 + extra]
    body = {"SecretString": secret, "Name": "n", "SecretId": "s"}
    body = {
        k: v
        for k, v in body.items()
        if k in MODEL.document["shapes"][f"{operation}Request"]["members"]
    }
    message = validation(operation, body)
    assert message == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536"
    )
    assert secret not in message


@settings(max_examples=60, deadline=None)
@given(token=st.text(min_size=1, max_size=80).filter(lambda t: len(t) < 36 or "!" in t))
def test_random_bad_rotation_tokens_never_reach_the_message(token: str) -> None:
    """A RotationToken (sensitive) failing its pattern or length is never echoed."""
    token = token if len(token) < 36 else token[:255]
    body = {"SecretId": "s", "SecretString": "v", "RotationToken": token}
    message = validation("PutSecretValue", body)
    assert "Value at 'rotationToken' failed to satisfy constraint" in message
    assert "Value '" not in message


def test_sensitive_blob_too_long_is_not_echoed() -> None:
    """A SecretBinary over 65536 bytes reports its length bound with no value."""
    text = base64.b64encode(b"\x01" * 65537).decode()
    message = validation("CreateSecret", {"Name": "n", "SecretBinary": text})
    assert message.endswith(
        "Value at 'secretBinary' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536"
    )


# --- Overrides: InvalidParameterException instead of ValidationException --------------------------


def test_long_client_request_token_is_an_invalid_parameter_by_default() -> None:
    """A 65-character ClientRequestToken raises InvalidParameter with the service's words."""
    with pytest.raises(errors.InvalidParameter) as caught:
        MODEL.validate_input("PutSecretValue", {"SecretId": "s", "ClientRequestToken": "x" * 65})
    assert caught.value.message == "ClientRequestToken must be 32-64 characters long."
    assert ("PutSecretValue", "ClientRequestToken") in DEFAULT_OVERRIDES


def test_front_end_failures_are_reported_before_an_override() -> None:
    """When other members also fail, the ValidationException comes first, as on AWS."""
    body = {"Name": "", "ClientRequestToken": "x" * 65}
    assert validation("CreateSecret", body) == (
        "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_overrides_are_configurable() -> None:
    """overrides={} restores ValidationException; a message-less override keeps AWS's frame."""
    plain = ServiceModel.load(overrides={})
    message = validation("UpdateSecret", {"SecretId": "s", "ClientRequestToken": "x" * 65}, plain)
    assert message.endswith("Member must have length less than or equal to 64")
    custom = ServiceModel.load(
        overrides={("ListSecrets", "MaxResults"): ConstraintOverride(errors.InvalidParameter)}
    )
    with pytest.raises(errors.InvalidParameter) as caught:
        custom.validate_input("ListSecrets", {"MaxResults": 500})
    assert caught.value.message == (
        "1 validation error detected: Value '500' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    )


def test_overrides_do_not_hide_type_errors() -> None:
    """A claimed member of the wrong JSON type is still a Serialization error."""
    assert serialization("CreateSecret", {"Name": "n", "ClientRequestToken": 5}) == (
        "NUMBER_VALUE can not be converted to a String"
    )


def _one_pattern_model(tmp_path: Path, pattern: str) -> ServiceModel:
    document = {
        "metadata": {"endpointPrefix": "p", "targetPrefix": "P"},
        "operations": {"Try": {"name": "Try", "input": {"shape": "In"}}},
        "shapes": {
            "In": {"type": "structure", "members": {"Text": {"shape": "Text"}}},
            "Text": {"type": "string", "pattern": pattern},
        },
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document))
    return ServiceModel.load(path)


@pytest.mark.parametrize(
    ("pattern", "text", "accepted"),
    [
        ("^([a-z]+-)+\\d+$", "us-east-1", True),
        ("^([a-z]+-)+\\d+$", "us-east-\u0661", False),  # Java's \d is ASCII only
        ("^([a-z]+-)+\\d+$", "us-east-1\n", False),  # the whole value must match
        ("[\\w+=,.@-]+", "caf\u00e9", False),  # Java's \w is ASCII only
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", "Caf\u00e9 1", True),  # IAM tag pattern
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", "a*b", False),
    ],
)
def test_model_patterns_keep_java_semantics(
    tmp_path: Path, pattern: str, text: str, accepted: bool
) -> None:
    """Model patterns match whole values with Java's meaning of \\d, \\w and \\p{..}."""
    model = _one_pattern_model(tmp_path, pattern)
    if accepted:
        assert model.validate_input("Try", {"Text": text}) == {"Text": text}
    else:
        with pytest.raises(errors.Validation):
            model.validate_input("Try", {"Text": text})


# --- Depth and size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "body", "message"),
    [
        ("GetSecretValue", {"SecretId": deep(100_000)}, "Start of list found where not expected"),
        (
            "RotateSecret",
            {"SecretId": "s", "RotationRules": deep(100_001)},
            "Unrecognized member 'A' in RotationRulesType.",
        ),
        ("ListSecrets", {"Filters": [deep(100_000)]}, "Start of list found where not expected"),
        ("ListSecrets", {"Filters": deep(100_001)}, _MAP_FOUND),
        ("ListSecrets", {"Filters": deep(100_000)}, "Unrecognized member 'A' in Filter."),
    ],
)
def test_deep_nesting_is_a_serialization_error_not_a_recursion_error(
    operation: str, body: dict[str, Any], message: str
) -> None:
    """A value nested 100,000 levels deep is refused at the first level the model lacks."""
    assert serialization(operation, body) == message


def test_recursive_models_are_cut_at_max_depth(tmp_path: Path) -> None:
    """A model whose shape contains itself is checked to max_depth, then Serialization."""
    document = {
        "metadata": {"endpointPrefix": "tree", "targetPrefix": "Tree"},
        "operations": {"Plant": {"name": "Plant", "input": {"shape": "Node"}}},
        "shapes": {
            "Node": {
                "type": "structure",
                "members": {"Child": {"shape": "Node"}, "Label": {"shape": "Label"}},
            },
            "Label": {"type": "string", "max": 3, "sensitive": True},
        },
    }
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(document))
    model = ServiceModel.load(path, policy=InputPolicy(max_depth=8))

    def chain(levels: int, label: str = "ok") -> dict[str, Any]:
        node: dict[str, Any] = {"Label": label}
        for _ in range(levels):
            node = {"Child": node}
        return node

    assert model.validate_input("Plant", chain(7))
    with pytest.raises(errors.Serialization) as caught:
        model.validate_input("Plant", chain(10_000))
    assert caught.value.message == "The request is nested more deeply than the operation allows."
    message = validation("Plant", chain(2, "toolong"), model)
    assert message == (
        "1 validation error detected: Value at 'child.child.label' failed to satisfy "
        "constraint: Member must have length less than or equal to 3"
    )


# --- The strategy module and speed ----------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_generated_inputs_are_accepted(operation: str, data: st.DataObject) -> None:
    """Every body input_for draws with valid_bias=1.0 passes, is JSON and keeps its keys."""
    body = data.draw(input_for(MODEL, operation, 1.0))
    json.dumps(body)
    assert set(MODEL.validate_input(operation, body)) == set(body)


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mixed_generated_inputs_fail_only_with_input_errors(
    operation: str, data: st.DataObject
) -> None:
    """Bodies with broken values raise only client errors (input or invalid parameter)."""
    body = data.draw(input_for(MODEL, operation, 0.5))
    json.dumps(body)
    try:
        checked = MODEL.validate_input(operation, body)
    except (errors.InputError, errors.InvalidParameter) as exc:
        assert exc.message
    else:
        assert isinstance(checked, dict)


def test_get_secret_value_check_takes_microseconds() -> None:
    """Checking a GetSecretValue body stays far below the per-request budget (< 20 µs)."""
    body = {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}
    runs = 20_000
    seconds = min(
        timeit.repeat(lambda: MODEL.validate_input("GetSecretValue", body), number=runs, repeat=3)
    )
    assert seconds / runs < 20e-6
