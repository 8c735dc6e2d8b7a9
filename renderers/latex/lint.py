"""What user TeX may contain: one scan shared by every LaTeX renderer.

The lint is the first line of defence (the engine's sandbox is the second) and it keeps
targets honest: a command that touches files, the shell, catcodes or definitions could make
the image differ from what the target claims, so it is never typeset.
"""

from __future__ import annotations

import re
from collections.abc import Collection

FORBIDDEN = {
    "input", "include", "InputIfFileExists", "openin", "openout", "read", "readline",
    "write", "immediate", "message", "special", "catcode", "def", "gdef", "edef", "xdef",
    "let", "futurelet", "csname", "expandafter", "loop", "repeat", "newcommand",
    "renewcommand", "providecommand", "DeclareMathOperator", "usepackage", "documentclass",
    "makeatletter", "makeatother", "jobname", "endinput", "errmessage", "output", "everypar",
    "everymath", "afterassignment", "aftergroup", "uppercase", "lowercase", "scantokens",
    "pdfprimitive", "pdfobj", "pdffiledump", "pdffilesize", "pdfshellescape", "directlua",
    "dump", "batchmode", "nonstopmode", "scrollmode", "errorstopmode", "shipout",
    "vbox", "vtop", "hrule", "vrule", "kern", "hskip", "vskip", "romannumeral", "number",
    "string", "meaning", "detokenize", "unexpanded", "noexpand", "if", "ifx", "ifnum",
    "iftrue", "iffalse", "else", "fi", "relax", "begingroup", "endgroup", "newif", "count",
    "dimen", "skip", "toks", "box", "setbox", "typeout", "tracingall", "showlists",
    "newpage", "clearpage", "pagebreak", "newenvironment", "setcounter",
    "addtocounter", "stepcounter", "pdfdest", "pdfsavepos", "write18",
    "includegraphics", "verbatiminput", "lstinputlisting", "url", "href",
}
CONTROL_WORD = re.compile(r"\\([A-Za-z@]+)")
# An environment's begin or end (kind, name), or a line break `\\` (empty kind and name).
_ENV_OR_NEWLINE = re.compile(r"\\(begin|end)\s*\{([^}]*)\}|\\\\")


def lint_tex(
    text: str,
    *,
    allowed_envs: Collection[str],
    max_chars: int,
    newline_envs: Collection[str] | None = None,
    math_shift: bool = False,
    forbidden: Collection[str] = FORBIDDEN,
) -> str | None:
    """Why `text` may not be typeset, as "reason: detail", or None if it may.

    `newline_envs`: environments inside which `\\\\` may break lines (None: anywhere);
    `math_shift`: whether `$` may appear (inline math in table cells, not in a formula).
    """
    if not text.strip():
        return "empty"
    if len(text) > max_chars:
        return f"too-long: {len(text)} characters (limit {max_chars})"
    if "^^" in text:
        return "forbidden: ^^ character notation"
    if re.search(r"(?<!\\)%", text):
        return "forbidden: % comment would hide the rest of the line"
    if not math_shift and re.search(r"(?<!\\)\$", text):
        return "forbidden: $ math shift"
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in text):
        return "forbidden: control character"
    for name in CONTROL_WORD.findall(text):
        if "@" in name:
            return f"forbidden: internal command \\{name}"
        if name in forbidden and name not in ("begin", "end"):
            return f"forbidden: \\{name}"
    stack: list[str] = []
    for kind, env in _ENV_OR_NEWLINE.findall(text):
        env = env.strip()
        if not kind:
            if newline_envs is not None and not any(e in newline_envs for e in stack):
                # the image cannot show a line break the target would claim
                return "forbidden: \\\\ line break outside an environment"
        elif env not in allowed_envs:
            return f"forbidden: environment {env!r}"
        elif kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            return f"unbalanced-environments: \\end{{{env}}} does not close the open one"
    if stack:
        return f"unbalanced-environments: \\begin{{{stack[-1]}}} never ended"
    if text.count("$") - text.count("\\$") & 1:
        return "unbalanced-math: odd number of $"
    depth = 0
    for index, ch in enumerate(text):
        if ch in "{}" and index > 0 and text[index - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return "unbalanced-braces: '}' without '{'"
    if depth:
        return "unbalanced-braces: '{' never closed"
    return None
