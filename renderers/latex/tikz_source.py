"""Geometry content: TikZ pictures of points, segments, circles, polygons, angle marks and
function curves on axes, as GOT's geometry data describes them.

A picture is generated as a list of statements and printed by one canonical printer:
numbers in shortest form, named points declared first in name order, options in a fixed
order, one statement per line. Equal pictures therefore have equal code.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.latex.table_source import EnvironmentFiles

POINT_NAMES = list("ABCDEFGHKLMNPQRS")
LABEL_SIDES = ["above", "below", "left", "right", "above left", "above right",
               "below left", "below right"]
X = "\\x"  # the plot variable (a backslash cannot sit in an f-string expression)
LINE_STYLES = ["", "", "", "thick", "dashed", "thin", "very thick", "densely dotted"]


def num(x: float) -> str:
    """Shortest decimal spelling with at most two decimals; never `-0`."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def times(k: float, term: str) -> str:
    """`k*term` in one spelling: `term` for 1, `-term` for -1."""
    return term if k == 1 else f"-{term}" if k == -1 else f"{num(k)}*{term}"


def opts(*options: str) -> str:
    kept = [o for o in options if o]
    return f"[{', '.join(kept)}]" if kept else ""


class Scene:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.points: dict[str, tuple[float, float]] = {}
        self.lines: list[str] = []
        self.labels: list[str] = []

    def point(self, x: float, y: float, label: bool = True) -> str:
        name = POINT_NAMES[len(self.points)]
        self.points[name] = (round(x, 2), round(y, 2))
        if label:
            self.labels.append(name)
        return name

    def style(self) -> str:
        return self.rng.choice(LINE_STYLES)

    def label_side(self, name: str) -> str:
        """Put the label away from the picture's centre, so it does not sit on a line."""
        if not self.points:
            return "above"
        cx = sum(p[0] for p in self.points.values()) / len(self.points)
        cy = sum(p[1] for p in self.points.values()) / len(self.points)
        x, y = self.points[name]
        vertical = "above" if y >= cy else "below"
        horizontal = "right" if x >= cx else "left"
        if abs(x - cx) < 0.3:
            return vertical
        if abs(y - cy) < 0.3:
            return horizontal
        return f"{vertical} {horizontal}"

    def code(self) -> str:
        out = ["\\begin{tikzpicture}"]
        for name, (x, y) in self.points.items():
            out.append(f"\\coordinate ({name}) at ({num(x)},{num(y)});")
        out += self.lines
        for name in self.labels:
            out.append(f"\\fill ({name}) circle (1.5pt) node[{self.label_side(name)}] "
                       f"{{${name}$}};")
        out.append("\\end{tikzpicture}")
        return "\n".join(out)


class GeometryGrammar:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def polygon(self, scene: Scene, sides: int) -> list[str]:
        rng = self.rng
        cx, cy, r = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(1.5, 3)
        start = rng.uniform(0, 2 * math.pi)
        angles = sorted(start + 2 * math.pi * (i + rng.uniform(-0.2, 0.2)) / sides
                        for i in range(sides))
        names = [scene.point(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]
        path = " -- ".join(f"({n})" for n in names)
        scene.lines.append(f"\\draw{opts(scene.style())} {path} -- cycle;")
        return names

    def triangle_extras(self, scene: Scene, a: str, b: str, c: str) -> None:
        rng = self.rng
        roll = rng.random()
        pa, pb, pc = scene.points[a], scene.points[b], scene.points[c]
        if roll < 0.3:
            # a median from a to the midpoint of bc
            m = scene.point((pb[0] + pc[0]) / 2, (pb[1] + pc[1]) / 2)
            scene.lines.append(f"\\draw{opts('dashed')} ({a}) -- ({m});")
        elif roll < 0.5:
            # the circumscribed circle
            ax, ay = pa
            bx, by = pb
            cx, cy = pc
            d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
            if abs(d) > 1e-6:
                ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay)
                      + (cx**2 + cy**2) * (ay - by)) / d
                uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx)
                      + (cx**2 + cy**2) * (bx - ax)) / d
                o = scene.point(ux, uy)
                radius = math.dist(scene.points[o], pa)
                scene.lines.append(f"\\draw{opts(scene.style())} ({o}) circle ({num(radius)});")
        if rng.random() < 0.5:
            radius = rng.choice(["0.4cm", "0.5cm", "0.6cm"])
            # TikZ sweeps counterclockwise from the first ray: start from the one that
            # makes the interior angle, not the reflex one
            cross = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0])
            first, second = (b, c) if cross > 0 else (c, b)
            scene.lines.append(f"\\pic[draw, angle radius={radius}] "
                               f"{{angle = {first}--{a}--{second}}};")

    def circle_scene(self, scene: Scene) -> None:
        rng = self.rng
        o = scene.point(rng.uniform(-1, 1), rng.uniform(-1, 1))
        r = round(rng.uniform(1, 2.5), 1)
        scene.lines.append(f"\\draw{opts(scene.style())} ({o}) circle ({num(r)});")
        ox, oy = scene.points[o]
        count = rng.randint(1, 3)
        names = []
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(count):
            names.append(scene.point(ox + r * math.cos(angle), oy + r * math.sin(angle)))
            angle += rng.uniform(0.8, 2.2)
        scene.lines.append(f"\\draw{opts(scene.style())} ({o}) -- ({names[0]});")
        if len(names) >= 2:
            scene.lines.append(f"\\draw ({names[0]}) -- ({names[1]});")
        if len(names) == 3:
            scene.lines.append(f"\\draw{opts('dashed')} ({names[1]}) -- ({names[2]}) -- "
                               f"({names[0]});")

    def rectangle_scene(self, scene: Scene) -> None:
        rng = self.rng
        x0, y0 = rng.uniform(-2, 0), rng.uniform(-2, 0)
        w, h = rng.uniform(1.5, 4), rng.uniform(1, 3)
        a = scene.point(x0, y0)
        c = scene.point(x0 + w, y0 + h)
        scene.lines.append(f"\\draw{opts(scene.style())} ({a}) rectangle ({c});")
        if rng.random() < 0.5:
            scene.lines.append(f"\\draw{opts('dashed')} ({a}) -- ({c});")

    def segments_scene(self, scene: Scene) -> None:
        rng = self.rng
        names = [scene.point(rng.uniform(-3, 3), rng.uniform(-2, 2))
                 for _ in range(rng.randint(2, 5))]
        for first, second in zip(names, names[1:], strict=False):
            scene.lines.append(f"\\draw{opts(scene.style())} ({first}) -- ({second});")

    def function_plot(self) -> str:
        rng = self.rng
        x_max, y_max = rng.choice([3, 4]), rng.choice([3, 4])
        lines = ["\\begin{tikzpicture}"]
        if rng.random() < 0.3:
            lines.append(f"\\draw[very thin, gray!40] (-{x_max},-{y_max}) grid "
                         f"({x_max},{y_max});")
        lines.append(f"\\draw[->] (-{x_max}.5,0) -- ({x_max}.5,0) node[right] {{$x$}};")
        lines.append(f"\\draw[->] (0,-{y_max}.5) -- (0,{y_max}.5) node[above] {{$y$}};")
        if rng.random() < 0.5:
            lines.append("\\node[below left] at (0,0) {$O$};")
        kind = rng.choice(["line", "parabola", "sine", "ellipse", "hyperbola", "cubic"])
        color = rng.choice(["thick", "", "blue", "red", "thick, blue"])

        def plot(domain: tuple[float, float], coords: str, *extra: str) -> str:
            span = f"domain={num(domain[0])}:{num(domain[1])}"
            return f"\\draw{opts(color, span, *extra)} plot {coords};"

        if kind == "line":
            k, b = rng.choice([0.5, 1, 2, -1, -0.5, 1.5]), rng.randint(-2, 2)
            span = self._domain(lambda x: k * x + b, x_max, y_max)
            y = times(k, X) + self._signed(b)
            lines.append(plot(span, "(" + X + ", {" + y + "})"))
        elif kind == "parabola":
            a, c = rng.choice([0.5, 1, -0.5, -1, 0.25]), rng.randint(-2, 2)
            span = self._domain(lambda x: a * x * x + c, x_max, y_max)
            y = times(a, f"({X})^2") + self._signed(c)
            lines.append(plot(span, "(" + X + ", {" + y + "})", "smooth"))
        elif kind == "cubic":
            a = rng.choice([0.1, 0.2, -0.2])
            span = self._domain(lambda x: a * x**3 - x, x_max, y_max)
            lines.append(plot(span, f"(\\x, {{{num(a)}*(\\x)^3-\\x}})", "smooth"))
        elif kind == "sine":
            amp, freq = rng.choice([1, 1.5, 2]), rng.choice([1, 2, 0.5])
            y = times(amp, f"sin({times(freq, X)} r)")
            lines.append(plot((-x_max, x_max), "(" + X + ", {" + y + "})", "smooth",
                              "samples=60"))
        elif kind == "ellipse":
            # b < a: an ellipse with equal axes would be a circle spelled differently
            a, b = rng.choice([2, 2.5, 3]), rng.choice([1, 1.5])
            lines.append(f"\\draw{opts(color)} (0,0) ellipse ({num(a)} and {num(b)});")
        else:
            a, b = rng.choice([1, 1.5]), rng.choice([0.5, 1, 1.5])
            # stop where either coordinate leaves the axes
            t = round(min(math.acosh(x_max / a), math.asinh(y_max / b)), 2)
            for sign in ("", "-"):
                x_of_t = times(-a if sign else a, f"cosh({X})")
                y = times(b, f"sinh({X})")
                lines.append(plot((-t, t), "({" + x_of_t + "}, {" + y + "})", "smooth"))
        lines.append("\\end{tikzpicture}")
        return "\n".join(lines)

    @staticmethod
    def _signed(b: float) -> str:
        return "" if b == 0 else (f"+{num(b)}" if b > 0 else num(b))

    @staticmethod
    def _domain(f, x_max: float, y_max: float) -> tuple[float, float]:
        """The widest x range (in steps of 0.1) whose curve stays inside the axes."""
        xs = [x / 10 for x in range(-10 * x_max, 10 * x_max + 1)]
        inside = [x for x in xs if abs(f(x)) <= y_max]
        return (inside[0], inside[-1]) if inside else (-1.0, 1.0)

    def picture(self) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return self.function_plot()
        scene = Scene(rng)
        kind = rng.choice(["triangle", "triangle", "polygon", "circle", "rectangle",
                           "segments", "combo"])
        if kind == "triangle":
            self.triangle_extras(scene, *self.polygon(scene, 3))
        elif kind == "polygon":
            self.polygon(scene, rng.randint(4, 6))
        elif kind == "circle":
            self.circle_scene(scene)
        elif kind == "rectangle":
            self.rectangle_scene(scene)
        elif kind == "segments":
            self.segments_scene(scene)
        else:
            self.rectangle_scene(scene)
            self.circle_scene(scene)
        return scene.code()


class GeneratedGeometry(Source):
    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        return Item(k=k, seed=seed, content=GeometryGrammar(rng).picture(),
                    meta={"source": "generated"})


class TikzFiles(EnvironmentFiles):
    """A user's `.tex` file or folder of them: one item per `tikzpicture` environment."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "tikzpicture", "picture")
