"""The only code that touches key material or cryptography.hazmat: AEAD, envelope
encryption, the built-in key service and the root key. May import domain, errors, clock.
"""
