from pipelines.format.tiling import *  # noqa: F403 - moved to the dataset format (multi-crop)
