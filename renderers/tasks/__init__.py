"""Stage-3 tasks: GOT samples composed from other renderers' samples (ARCHITECTURE.md,
"Layers").

A task is registered like a renderer: its source names the base items it needs, and its
renderer renders them in-process with the base renderer (warm, one batch per chunk) and
composes the sample. Nothing here knows Ray.
"""
