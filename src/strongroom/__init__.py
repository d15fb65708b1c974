"""Strongroom: a self-hosted secrets manager that speaks the AWS Secrets Manager API.

Layers (imports point one way): cli -> http -> {protocol, service};
service -> {domain, crypto, storage}; domain imports no other layer.
Everything may use errors, clock and settings.
"""

__version__ = "0.1.0"
