"""AWS wire formats, sans-I/O: SigV4, AWS JSON 1.1 decoding and encoding, input shapes
from the botocore model, and the mapping of errors to AWS codes. May read domain types.
"""
