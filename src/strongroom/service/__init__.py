"""Use cases: the only layer that combines domain, crypto and storage. Never imports
protocol or http; raises errors from strongroom.errors, never wire codes.
"""
