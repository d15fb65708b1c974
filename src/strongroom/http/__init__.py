"""The ASGI application: composition root, request routing, middleware. May import
protocol and service (and settings); names concrete backends only in app.py.
"""
