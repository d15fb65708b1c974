"""The canonical encryption context is a stored format: its fast path must produce exactly
the bytes of the reference JSON encoding for every input."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from strongroom.crypto.keys import canonical_context


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4))
def test_fast_path_matches_reference_json(context: dict[str, str]) -> None:
    """canonical_context equals sorted, compact, ASCII-escaped JSON for any str mapping."""
    reference = json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert canonical_context(context) == reference.encode("utf-8")


def test_typical_secret_context() -> None:
    """The context of a secret version is the two keys in sorted order."""
    out = canonical_context({"SecretVersionId": "v1", "SecretARN": "arn:aws:x"})
    assert out == b'{"SecretARN":"arn:aws:x","SecretVersionId":"v1"}'
