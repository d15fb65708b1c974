"""Pure rules of Secrets Manager: names, ARNs, staging labels, limits, filters, passwords.

Imports no other layer (no I/O, no HTTP, no crypto, no storage); may use errors and clock.
"""
