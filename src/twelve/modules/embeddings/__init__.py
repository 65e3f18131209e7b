"""Embeddings: vector generation (`/v1/embeddings`)."""
