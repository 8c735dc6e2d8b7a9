"""GOT's multi-crop tiling (InternVL-1.5's dynamic preprocessing), free of torch.

One implementation serves both sides: the trainer cuts tiles at train time when a row has
none, and the `multi-crop` task cuts them when it renders, so the two always agree.
"""

from __future__ import annotations

from PIL import Image


def tile_grid(width: int, height: int, tile: int, max_tiles: int,
              min_tiles: int = 1) -> tuple[int, int]:
    """(columns, rows) whose aspect ratio is closest to the image's.

    Ties go to the larger grid while the image still covers more than half of it, so a big
    page is not squeezed into too few tiles; this is the rule GotOcr2ImageProcessor uses.
    """
    grids = sorted(
        ((c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
         if min_tiles <= c * r <= max_tiles),
        key=lambda g: g[0] * g[1],
    )
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), float("inf")
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def tile_boxes(cols: int, rows: int, size: int) -> list[tuple[int, int, int, int]]:
    """The tiles' boxes on the (cols*size, rows*size) canvas, in reading order."""
    return [(c * size, r * size, (c + 1) * size, (r + 1) * size)
            for r in range(rows) for c in range(cols)]


def tiles(image: Image.Image, size: int, max_tiles: int) -> list[Image.Image]:
    """GOT's multi-crop input: the grid's tiles in reading order, then a thumbnail."""
    cols, rows = tile_grid(image.width, image.height, size, max_tiles)
    if cols * rows == 1:
        return [image]
    canvas = image.resize((cols * size, rows * size), Image.Resampling.BICUBIC)
    out = [canvas.crop(box) for box in tile_boxes(cols, rows, size)]
    return [*out, image]  # the thumbnail is the whole image, resized later like any page
