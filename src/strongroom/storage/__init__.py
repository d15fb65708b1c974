"""Persistence behind one narrow protocol; stores ciphertext only. May import domain,
errors, clock; never crypto, service, protocol or http.
"""
