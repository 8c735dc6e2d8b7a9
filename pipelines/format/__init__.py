"""The dataset format (ARCHITECTURE.md, "Contracts"): the row schema and its Hugging Face
features, shard files, the manifest, verification, the dataset card, and GOT's multi-crop
tiling. The single home of the row contract: the core, the tasks and the trainer import it.
Kept free of heavy imports at package level, so `pipelines.format.tiling` costs only Pillow."""
