"""createSecret and finishSecret as AWS's rotation templates write them, over any client with
boto3's ``secretsmanager`` calls. Standard library only: test rotation functions import it in
the server, in a webhook receiver, and from inside a Lambda deployment package."""

from __future__ import annotations

import json
from typing import Any


def create_pending(
    client: Any, arn: str, token: str, value: str | None = None, **options: Any
) -> None:
    """Unless version ``token`` already holds AWSPENDING, put ``value`` there as AWSPENDING;
    without a value, ``{"password": ...}`` from GetRandomPassword(ExcludePunctuation=True,
    **options)."""
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    except client.exceptions.ResourceNotFoundException:
        if value is None:
            password = client.get_random_password(ExcludePunctuation=True, **options)
            value = json.dumps({"password": password["RandomPassword"]})
        client.put_secret_value(
            SecretId=arn,
            ClientRequestToken=token,
            SecretString=value,
            VersionStages=["AWSPENDING"],
        )


def finish(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to version ``token`` (AWSPREVIOUS follows), unless it is there already."""
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    if current != token:
        client.update_secret_version_stage(
            SecretId=arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=token,
            RemoveFromVersionId=current,
        )
