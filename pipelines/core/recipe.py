"""Recipe files: what to render, how much of it, and with which seed.

A recipe is YAML, loaded with `yaml.safe_load` (no code execution), and checked in full
before any work starts so that a typo fails in a second, not after an hour of rendering.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml
from ocr2synth.pipelines.core.degrade import EFFECTS, DegradeSettings


class RecipeError(ValueError):
    """A recipe that cannot be run; the message names the problem in one line."""


@dataclass(frozen=True)
class ImageSettings:
    format: str = "png"
    compress_level: int = 1
    # "auto" stores black-on-white renders as grayscale, which encodes several times faster.
    mode: str = "auto"


@dataclass(frozen=True)
class Entry:
    renderer: str
    count: int
    params: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    # Distinguishes two entries of one renderer: ids and seeds derive from it.
    name: str | None = None
    # Seeded degradation between validation and encoding (pipelines/core/degrade.py); None: off.
    degrade: DegradeSettings | None = None

    @property
    def key(self) -> str:
        return self.name or self.renderer


@dataclass(frozen=True)
class Recipe:
    name: str
    seed: int
    entries: tuple[Entry, ...]
    shard_size: int = 1024
    max_reject_rate: float = 0.2
    sample_timeout_s: float = 20.0
    image: ImageSettings = field(default_factory=ImageSettings)
    # The dataset card's licence (a Hugging Face licence id); None: "other"
    license: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["license"] is None:  # a recipe without one reads (and hashes) as before
            data.pop("license")
        for entry in data["entries"]:
            # an entry without degradation reads (and hashes) as before the option existed
            if entry.get("degrade") is None:
                entry.pop("degrade", None)
        return data

    def content_hash(self) -> str:
        """Hash of everything that decides the output, so a resume can refuse a changed recipe."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def scaled(self, factor: float) -> Recipe:
        entries = tuple(replace(e, count=max(1, round(e.count * factor))) for e in self.entries)
        return replace(self, entries=entries)


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    # bool is an int in Python; a count of `true` is still a mistake.
    if isinstance(value, bool) and kind is not bool:
        raise RecipeError(f"{where}: expected {_kind_name(kind)}, got a boolean")
    if not isinstance(value, kind):
        raise RecipeError(f"{where}: expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _check_keys(raw: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RecipeError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _check_name(name: str, where: str) -> str:
    """A name that is safe as one path component and as part of sample ids."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise RecipeError(f"{where}: use letters, digits, '-' and '_' only, got {name!r}")
    return name


def _resolve_source(source: str | None, base_dir: Path | None, where: str) -> str | None:
    if source is None:
        return None
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise RecipeError(f"{where}.source: {source!r} does not exist")
    return str(path.resolve())


def _resolve_base(location: Any, base_dir: Path | None, where: str) -> dict[str, str]:
    """A base dataset's place and content hash: the hash enters the recipe's, so a resume
    over a base that changed is refused as another recipe, and the workers check it."""
    from ocr2synth.pipelines.format.manifest import DatasetError, dataset_hash, load_manifest
    from ocr2synth.pipelines.format.store import is_uri

    if not isinstance(location, str):
        raise RecipeError(f"{where}: expected a folder or URI, got {type(location).__name__}")
    if not is_uri(location):
        path = Path(location).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        location = str(path.resolve())
    try:
        manifest = load_manifest(location)
    except (DatasetError, OSError, ValueError) as exc:
        raise RecipeError(f"{where}: {exc}") from None
    if not manifest.get("shards"):
        raise RecipeError(f"{where}: {location} holds no finished shard")
    return {"from": location, "from_hash": dataset_hash(manifest)}


def parse_entry(raw: Any, index: int, base_dir: Path | None, known: set[str]) -> Entry:
    where = f"entries[{index}]"
    _expect(raw, dict, where)
    # `base: {from: DIR}`: a stage-3 task composed from a dataset rendered before
    _check_keys(raw, {f.name for f in fields(Entry)} | {"base"}, where)
    if "renderer" not in raw:
        raise RecipeError(f"{where}: missing 'renderer'")
    renderer = _expect(raw["renderer"], str, f"{where}.renderer")
    if renderer not in known:
        raise RecipeError(
            f"{where}.renderer: unknown renderer {renderer!r} (known: {', '.join(sorted(known))})"
        )
    if "count" not in raw:
        raise RecipeError(f"{where}: missing 'count'")
    count = _expect(raw["count"], int, f"{where}.count")
    if count < 1:
        raise RecipeError(f"{where}.count: must be at least 1, got {count}")
    params = dict(_expect(raw.get("params") or {}, dict, f"{where}.params"))
    if raw.get("base") is not None:
        base = _expect(raw["base"], dict, f"{where}.base")
        _check_keys(base, {"from"}, f"{where}.base")
        params["from"] = _expect(base.get("from"), str, f"{where}.base.from")
    if params.get("from") and not params.get("from_hash"):
        params.update(_resolve_base(params["from"], base_dir, f"{where}.base.from"))
    source = raw.get("source")
    if source is not None:
        _expect(source, str, f"{where}.source")
    name = raw.get("name")
    if name is not None:
        _check_name(_expect(name, str, f"{where}.name"), f"{where}.name")
    resolved = _resolve_source(source, base_dir, where)
    _check_params(renderer, params, f"{where} ({name or renderer})", resolved)
    return Entry(renderer, count, dict(params), resolved, name,
                 parse_degrade(raw.get("degrade"), f"{where}.degrade"))


def _check_params(renderer: str, params: dict[str, Any], where: str,
                  source: str | None = None) -> None:
    """The entry's params against its renderer's schema, and with a source its corpus
    (a missing column): before Ray starts, not as every sample's failure once it runs."""
    from ocr2synth.renderers.params import ParamError, check_params
    from ocr2synth.renderers.registry import REGISTRY

    spec = REGISTRY.get(renderer)
    if spec is None:  # a name known to the caller only (tests): nothing to check against
        return
    try:
        check_params(spec.params, params, renderer)
        if spec.check_params:
            spec.check_params(params)
        if source is not None and spec.check_source:
            spec.check_source(source, params)
    except ParamError as exc:
        raise RecipeError(f"{where}: {exc}") from None


def parse_degrade(raw: Any, where: str) -> DegradeSettings | None:
    """`degrade: true` (the defaults), `false`/absent (off), or a mapping of settings."""
    if raw is None or raw is False:
        return None
    if raw is True:
        return DegradeSettings()
    _expect(raw, dict, where)
    _check_keys(raw, {f.name for f in fields(DegradeSettings)}, where)
    default = DegradeSettings()
    values = {}
    for key, lo, hi in (("p", 0.0, 1.0), ("effect_p", 0.0, 1.0), ("max_rotation", 0.0, 10.0)):
        value = float(_expect(raw.get(key, getattr(default, key)), (int, float), f"{where}.{key}"))
        if not lo <= value <= hi:
            raise RecipeError(f"{where}.{key}: must be between {lo:g} and {hi:g}, got {value}")
        values[key] = value
    effects = _expect(raw.get("effects", list(EFFECTS)), (list, tuple), f"{where}.effects")
    unknown = [e for e in effects if e not in EFFECTS]
    if unknown or not effects:
        raise RecipeError(f"{where}.effects: choose from {', '.join(EFFECTS)}; "
                          f"got {unknown[0] if unknown else 'none'!r}")
    return DegradeSettings(effects=tuple(effects), **values)


def parse_recipe(raw: Any, base_dir: Path | None, known_renderers: set[str]) -> Recipe:
    _expect(raw, dict, "recipe")
    allowed = {f.name for f in fields(Recipe)}
    _check_keys(raw, allowed, "recipe")
    for required in ("name", "seed", "entries"):
        if required not in raw:
            raise RecipeError(f"recipe: missing {required!r}")
    # the name is the default output folder: it must not be a path
    name = _check_name(_expect(raw["name"], str, "recipe.name"), "recipe.name")
    seed = _expect(raw["seed"], int, "recipe.seed")
    if seed < 0:
        raise RecipeError(f"recipe.seed: must be non-negative, got {seed}")
    shard_size = _expect(raw.get("shard_size", 1024), int, "recipe.shard_size")
    if shard_size < 1:
        raise RecipeError(f"recipe.shard_size: must be at least 1, got {shard_size}")
    rate = float(_expect(raw.get("max_reject_rate", 0.2), (int, float), "recipe.max_reject_rate"))
    if not 0.0 <= rate <= 1.0:
        raise RecipeError(f"recipe.max_reject_rate: must be between 0 and 1, got {rate}")
    timeout = float(
        _expect(raw.get("sample_timeout_s", 20.0), (int, float), "recipe.sample_timeout_s")
    )
    if timeout <= 0:
        raise RecipeError(f"recipe.sample_timeout_s: must be positive, got {timeout}")
    image = parse_image(raw.get("image") or {})
    raw_entries = _expect(raw["entries"], list, "recipe.entries")
    if not raw_entries:
        raise RecipeError("recipe.entries: empty; add at least one entry")
    entries = tuple(parse_entry(e, i, base_dir, known_renderers) for i, e in enumerate(raw_entries))
    keys = [e.key for e in entries]
    for key in keys:
        if keys.count(key) > 1:
            raise RecipeError(
                f"recipe.entries: two entries named {key!r}; give each a distinct 'name'"
            )
    license = raw.get("license")
    if license is not None:
        license = _expect(license, str, "recipe.license")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", license):
            raise RecipeError(f"recipe.license: a Hugging Face licence id such as apache-2.0 "
                              f"or cc-by-4.0, got {license!r}")
    return Recipe(name, seed, entries, shard_size, rate, timeout, image, license)


def parse_image(raw: Any) -> ImageSettings:
    _expect(raw, dict, "recipe.image")
    _check_keys(raw, {f.name for f in fields(ImageSettings)}, "recipe.image")
    fmt = _expect(raw.get("format", "png"), str, "recipe.image.format").lower()
    if fmt not in {"png", "jpeg", "webp"}:
        raise RecipeError(f"recipe.image.format: one of png, jpeg, webp; got {fmt!r}")
    level = _expect(raw.get("compress_level", 1), int, "recipe.image.compress_level")
    if not 0 <= level <= 9:
        raise RecipeError(f"recipe.image.compress_level: 0..9, got {level}")
    mode = _expect(raw.get("mode", "auto"), str, "recipe.image.mode")
    if mode not in {"auto", "L", "RGB"}:
        raise RecipeError(f"recipe.image.mode: one of auto, L, RGB; got {mode!r}")
    return ImageSettings(fmt, level, mode)


DEMO_SETTINGS: dict[str, Any] = {"name": "demo", "seed": 20260101, "shard_size": 32,
                                  "max_reject_rate": 0.2, "sample_timeout_s": 20}


def demo_recipe() -> dict[str, Any]:
    """The demo recipe (`ocr2synth render --demo`): every registered renderer's own demo
    entries (its spec's `demo`), a few dozen samples each, in registry order."""
    from ocr2synth.renderers.registry import REGISTRY

    entries = [{"renderer": name, **entry} for name, spec in REGISTRY.items()
               for entry in spec.demo]
    return {**DEMO_SETTINGS, "entries": entries}


def load_recipe(path: str | Path, known_renderers: set[str]) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecipeError(f"{path}: not valid YAML ({first})") from None
    return parse_recipe(raw, path.parent, known_renderers)
