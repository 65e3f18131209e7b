"""The local inference sidecar: a separate process (`twelve sidecar`) serving real models that ship
inside installed packages, on 127.0.0.1:8765, with an OpenAI-compatible API. The gateway reaches
it as the `local` provider, behind the same keys, credits, limits, routing and breakers as any
upstream. It imports nothing from the modules: it is a model server, not part of the monolith.
"""
