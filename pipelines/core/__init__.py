"""The core (ARCHITECTURE.md, "Layers"): a recipe, its shard plan, the worker that renders
chunks into rows, the Ray runner that drives workers and writes shards, and the seeded
degradation stage. It knows renderers through their registry and rows through the format."""
