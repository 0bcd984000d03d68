"""The README and docs/ stay short, linked and true: ``python -m pytest tests/test_docs.py``.

Documentation rots quietly: a file moves and a link breaks, a module is renamed and the README
still tells newcomers to run the old one, a measured number is pasted once and never updated.
These checks read only Markdown, ``pyproject.toml``, generated JSON and argparse parsers, so they
run in well under a second.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
# Every Markdown page a reader can reach from the README.
PAGES = [README, *DOCS, REPO_ROOT / "models" / "README.md", REPO_ROOT / "deploy" / "README.md",
         REPO_ROOT / "BENCHMARKS.md"]
MAX_README_WORDS = 1300  # the budget is ~1,200; the rest lives in docs/

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
PYTHON_M = re.compile(r"\bpython3?\s+-m\s+([A-Za-z_][\w.]*)")
LONG_FLAG = re.compile(r"^--[a-z][\w-]*")
# A measured figure: a decimal with a unit (99.66%, 0.45×, 7.1 ms, 79.8 KB) or a thousands-grouped
# number (2,380,938). Versions, addresses and small integers (ports, exit codes) are not measurements.
FIGURE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![.\d])\s?(%|×|ms\b|s\b|KB\b|MB\b|pp\b)?")


def prose(text: str) -> str:
    """Markdown without fenced blocks and inline code: what links and figures are read from."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def code_snippets(text: str) -> list[str]:
    """Each line of every fenced block and every inline code span: where commands are written."""
    lines = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    return lines + [span.strip("`") for span in CODE_SPAN.findall(FENCE.sub("", text))]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    slugs: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        slug, n = github_slug(heading), 1
        while slug in slugs:  # repeated headings get -1, -2, ...
            slug, n = f"{github_slug(heading)}-{n}", n + 1
        slugs.add(slug)
    return slugs


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text()))
            if not re.match(r"^[a-z][\w+.-]*:", target)]  # http:, https:, mailto: are not files


def broken_links(page: Path) -> list[str]:
    """Relative links of ``page`` whose file, or heading anchor in a Markdown file, is missing."""
    broken = []
    for target in relative_links(page):
        path_part, _, fragment = target.partition("#")
        path = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not path.exists():
            broken.append(f"{target} (no file {path})")
        elif fragment and path.suffix == ".md" and unquote(fragment) not in anchors(path):
            broken.append(f"{target} (no heading #{fragment} in {path.name})")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(page):
    assert page.exists(), f"{page} is linked from the README but missing"
    assert broken_links(page) == []


def test_broken_links_are_reported(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## Real section\n")
    page.write_text("[ok](other.md#real-section) [gone](missing.md) [bad](other.md#nope) "
                    "[web](https://example.org/x) `[code](not-a-link.md)`\n")
    assert [b.split(" ")[0] for b in broken_links(page)] == ["missing.md", "other.md#nope"]


def test_github_slugs():
    assert github_slug("Sources (`--source`)") == "sources---source"
    assert github_slug("Converting for the Pi: `python -m convert`") == "converting-for-the-pi-python--m-convert"


def test_readme_stays_short():
    words = len(README.read_text().split())
    assert words < MAX_README_WORDS, f"README.md has {words} words; move detail into docs/"


def test_every_docs_page_is_named_in_the_readme():
    text = README.read_text()
    missing = [str(p.relative_to(REPO_ROOT)) for p in DOCS if str(p.relative_to(REPO_ROOT)) not in text]
    assert missing == []


def _module_runs(name: str) -> bool:
    """Whether ``python -m name`` finds something to run: a module, or a package with __main__."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:
        return importlib.util.find_spec(f"{name}.__main__") is not None
    return True


def _digit_cam_parsers():
    from edge.cam import cli, selftest

    return cli.build_parser(), selftest.build_parser()


def _options(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def digit_cam_calls(text: str) -> list[list[str]]:
    """The words after each ``digit-cam`` in code, up to the end of that command."""
    calls = []
    for snippet in code_snippets(text):
        snippet = snippet.split(" #", 1)[0]  # a shell comment
        for match in re.finditer(r"(?<![\w/.-])digit-cam(?![\w.-])", snippet):
            rest = re.split(r"&&|\|\||[|;>]", snippet[match.end():], maxsplit=1)[0]
            try:
                calls.append(shlex.split(rest))
            except ValueError:
                calls.append(rest.split())
    return calls


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_commands_name_modules_and_flags_that_exist(page):
    text = page.read_text()
    missing = sorted({name for name in PYTHON_M.findall(text) if not _module_runs(name)})
    assert missing == [], f"python -m of modules that do not exist: {missing}"

    calls = digit_cam_calls(text)
    if "digit-cam" not in text:
        return
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert importlib.util.find_spec(scripts["digit-cam"].split(":")[0]) is not None
    main, selftest = (_options(parser) for parser in _digit_cam_parsers())
    unknown = []
    for words in calls:
        known = selftest if words[:1] == ["selftest"] else main
        unknown += [word for word in words if LONG_FLAG.match(word)
                    and word.split("=")[0] not in known]
    assert unknown == [], f"digit-cam flags that do not exist: {unknown}"


def test_digit_cam_calls_are_parsed():
    text = "```sh\ndigit-cam --source demo   # see it\n```\nand `pip install x && digit-cam selftest --json`"
    assert digit_cam_calls(text) == [["--source", "demo"], ["selftest", "--json"]]


def test_docs_describe_every_digit_cam_flag():
    text = (REPO_ROOT / "docs" / "digit-cam.md").read_text()
    documented = {flag for span in CODE_SPAN.findall(text) for flag in re.findall(r"--[a-z][\w-]*", span)}
    documented |= {flag for flag in re.findall(r"(?<![\w-])-[a-z]\b", text)}
    main, selftest = (_options(parser) - {"-h", "--help"} for parser in _digit_cam_parsers())
    assert sorted((main | selftest) - documented) == []


def _generated_values() -> tuple[str, list[float]]:
    """Text of BENCHMARKS.md and every number of the generated JSON the README may quote."""
    numbers: list[float] = []

    def walk(value) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            numbers.append(float(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    measured = [REPO_ROOT / "docs" / name for name in ("benchmark.json", "ablation.json", "realdigits-dev.json",
                                                        "scenes.json", "collect-overhead.json", "teach-eval.json")]
    for path in [*sorted((REPO_ROOT / "models").glob("*/*.json")), *measured]:
        walk(json.loads(path.read_text()))
    return (REPO_ROOT / "BENCHMARKS.md").read_text(), numbers


def unsourced_figures(text: str, benchmarks: str, numbers: list[float]) -> list[str]:
    """Figures in ``text`` that neither BENCHMARKS.md prints nor a generated JSON file holds."""
    missing = []
    for match in FIGURE.finditer(prose(text)):
        figure, unit = match.group(1), match.group(2) or ""
        if not unit and "," not in figure:
            continue
        value = float(figure.replace(",", ""))
        written = f"{figure}{unit}" if unit in ("%", "×") else f"{figure} {unit}".strip()
        in_json = any(abs(n - value) < 1e-9 or (unit == "%" and abs(100 * n - value) < 0.005)
                      for n in numbers)
        if written not in benchmarks and not in_json:
            missing.append(written)
    return missing


def test_readme_numbers_come_from_generated_files():
    benchmarks, numbers = _generated_values()
    assert unsourced_figures(README.read_text(), benchmarks, numbers) == []


def test_a_stale_number_is_caught():
    benchmarks, numbers = _generated_values()
    frame_ms = re.search(r"\*\*(\d+\.\d) ms\*\*", benchmarks).group(1)  # whatever BENCHMARKS.md says now
    # ... and whatever the release model's sidecar says its accuracy is
    accuracy = json.loads((REPO_ROOT / "models" / "edge" / "model_int8.json").read_text())["accuracy"]
    text = (f"ours reads {100 * accuracy:.2f}% of digits at {frame_ms} ms but only 12.34% of strings, in 0.33 s; "
            "70,746 and 12,345 on Python 3.13 at 127.0.0.1")
    assert unsourced_figures(text, benchmarks, numbers) == ["12.34%", "0.33 s", "12,345"]
