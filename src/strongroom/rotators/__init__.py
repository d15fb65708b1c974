"""Built-in rotation functions for database logins, written like AWS's published rotation
templates: each module has ``rotate(client, secret_id, token, step)`` driving one secret
through createSecret, setSecret, testSecret and finishSecret over the Secrets Manager API.

They reach Strongroom only through ``client`` (a boto3-like Secrets Manager client) and import
no other layer of this package: the same code runs in-process, in a function runtime or
beside a database.
"""

__all__: list[str] = []
