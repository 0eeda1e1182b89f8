"""Deployment modes: which modules run in this process, peer checks, shards and `mevbot up`."""
