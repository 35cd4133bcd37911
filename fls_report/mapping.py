"""The mapping from FLS-DB webtool exports onto the extract contract, loaded from data.

The built-in mapping is ``fls_report/mappings/webtool.yml``; a run may name another file of the
same structure (the parameters' ``mapping:`` key, webtool_export.md §1). Loading is strict:
unknown or duplicate keys, a question number that is not ``D.DD``, a column that is not a contract
column, a header alias claimed by two columns, a value alias onto a value the data dictionary
does not have, or one spelling given for two values, each stop the run with a message naming the
file and the key. Nothing here reads an extract; :mod:`fls_report.webtool` applies the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.params import StrictLoader, read_yaml

BUILT_IN = Path(__file__).parent / "mappings" / "webtool.yml"

#: A question number at the start of a header (webtool_export.md §1): ``1.09 Date ...``.
QUESTION_NUMBER = re.compile(r"(\d\.\d{2})(?:\s|$)")

#: The two questions that together give ``falls_assessment`` (webtool_export.md §4).
FALLS_RISK_QUESTION, FALLS_REFERRALS_QUESTION = "5.01", "5.10"

_TOP_KEYS = ("questions", "header_aliases", "value_aliases")
_QUESTION_KEYS = ("name", "column")


def header_key(text: str) -> str:
    """A header as compared by name (webtool_export.md §2, rule 2): case-folded, letters and
    digits only, so ``Age Frac diagnosed``, ``Age Frac Diagnosed`` and ``date_of_birth`` /
    ``DateOfBirth`` compare equal to their own kind."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def value_key(text: str) -> str:
    """A value as compared with the value aliases: trimmed, case-folded, ``’`` read as ``'``."""
    return text.strip().replace("\u2019", "'").casefold()


@dataclass(frozen=True)
class Question:
    """One question of the FLS-DB dataset: its number, short name and contract column (or None
    for a question the KPIs do not use)."""

    number: str
    name: str
    column: str | None


@dataclass(frozen=True)
class Mapping:
    """A validated mapping (webtool_export.md §1).

    Attributes
    ----------
    source
        The file it was read from.
    questions
        Question number -> :class:`Question`, in file order.
    header_aliases
        Contract column -> header texts that name it.
    value_aliases
        Canonical value -> accepted spellings.
    """

    source: Path
    questions: dict[str, Question]
    header_aliases: dict[str, tuple[str, ...]]
    value_aliases: dict[str, tuple[str, ...]]

    def by_name(self) -> dict[str, tuple[str | None, str | None]]:
        """Header key (:func:`header_key`) -> (question number or None, contract column or None),
        for rule 2: question short names first, then header aliases, then the contract names
        themselves (``date_of_birth`` and ``DateOfBirth`` are both question 1.02)."""
        found: dict[str, tuple[str | None, str | None]] = {}
        for question in self.questions.values():
            found.setdefault(header_key(question.name), (question.number, question.column))
        for column, aliases in self.header_aliases.items():
            for alias in aliases:
                found.setdefault(header_key(alias), (None, column))
        for column in dd.EXTRACT_COLUMNS:
            found.setdefault(header_key(column), (None, column))
        return found

    def aliases_for(self, allowed: tuple[str, ...]) -> dict[str, str]:
        """Spelling key (:func:`value_key`) -> canonical value, for the aliases whose canonical
        value is one of ``allowed`` (a column's value set): an alias never turns a value into one
        its column cannot hold."""
        return {
            value_key(spelling): canonical
            for canonical, spellings in self.value_aliases.items()
            if canonical in allowed
            for spelling in spellings
        }


def canonical_values() -> frozenset[str]:
    """Every value the data dictionary has: category values and therapy tokens."""
    values = {v for vs in dd.CATEGORIES.values() for v in vs}
    return frozenset(values | set(dd.THERAPY_TOKENS))


class _TextLoader(StrictLoader):
    """The parameters' strict loader (duplicate keys refused), keeping every plain scalar as text
    except ``null``: ``1.10`` stays ``"1.10"``, ``No`` stays ``"No"``."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read and check a mapping file (the built-in one when ``path`` is None).

    Raises
    ------
    InputError
        Naming the file and the key at fault.
    """
    return _load(Path(path).resolve() if path is not None else BUILT_IN)


def _load(path: Path) -> Mapping:
    name = str(path)
    raw = read_yaml(path, "mapping file", _TextLoader)
    if not isinstance(raw, dict):
        raise InputError(f"{name}: a mapping file is a mapping of the keys {', '.join(_TOP_KEYS)}")
    _known_keys(name, "", raw, _TOP_KEYS)
    missing = [k for k in _TOP_KEYS if k not in raw]
    if missing:
        raise InputError(f"{name}: missing key(s) {', '.join(repr(k) for k in missing)}")
    return Mapping(
        source=path,
        questions=_questions(name, raw["questions"]),
        header_aliases=_header_aliases(name, raw["header_aliases"]),
        value_aliases=_value_aliases(name, raw["value_aliases"]),
    )


def _known_keys(name: str, prefix: str, raw: dict, allowed: tuple[str, ...]) -> None:
    unknown = [str(k) for k in raw if k not in allowed]
    if unknown:
        raise InputError(
            f"{name}: unknown key(s) {', '.join(repr(prefix + k) for k in unknown)} "
            f"(allowed: {', '.join(allowed)})"
        )


def _mapping_of(name: str, key: str, raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise InputError(f"{name}: key '{key}' must be a mapping")
    return raw


def _texts(name: str, key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v.strip() for v in raw):
        raise InputError(f"{name}: key '{key}' must be a list of non-empty texts")
    return tuple(v.strip() for v in raw)


def _questions(name: str, raw: Any) -> dict[str, Question]:
    out: dict[str, Question] = {}
    for number, entry in _mapping_of(name, "questions", raw).items():
        key = f"questions.{number}"
        if not isinstance(number, str) or not re.fullmatch(r"\d\.\d{2}", number):
            raise InputError(f"{name}: key '{key}' is not a question number like 1.09")
        entry = _mapping_of(name, key, entry)
        _known_keys(name, f"{key}.", entry, _QUESTION_KEYS)
        if "name" not in entry or not isinstance(entry["name"], str) or not entry["name"].strip():
            raise InputError(f"{name}: key '{key}.name' must be the question's short name")
        column = entry.get("column")
        if column is not None and column not in dd.EXTRACT_COLUMNS:
            raise InputError(f"{name}: key '{key}.column' is '{column}', which is not a column of the extract contract")
        out[number] = Question(number, entry["name"].strip(), column)
    falls = {n for n, q in out.items() if q.column == "falls_assessment"}
    if falls - {FALLS_RISK_QUESTION, FALLS_REFERRALS_QUESTION}:
        raise InputError(
            f"{name}: only questions {FALLS_RISK_QUESTION} and {FALLS_REFERRALS_QUESTION} may feed "
            f"falls_assessment (webtool_export.md §4), not {', '.join(sorted(falls))}"
        )
    return out


def _claim(name: str, key: str, claimed: dict[str, str], texts, compare, owner: str, what: str) -> None:
    """Give each of ``texts`` (compared as ``compare`` makes them) to ``owner``; one already given
    to another is an error naming both."""
    for text in texts:
        other = claimed.setdefault(compare(text), owner)
        if other != owner:
            raise InputError(f"{name}: key '{key}': {what} '{text}' is already an alias of '{other}'")


def _header_aliases(name: str, raw: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    claimed: dict[str, str] = {}
    for column, aliases in _mapping_of(name, "header_aliases", raw).items():
        key = f"header_aliases.{column}"
        if column not in dd.EXTRACT_COLUMNS:
            raise InputError(f"{name}: key '{key}': '{column}' is not a column of the extract contract")
        out[column] = _texts(name, key, aliases)
        _claim(name, key, claimed, out[column], header_key, column, "header")
    return out


def _value_aliases(name: str, raw: Any) -> dict[str, tuple[str, ...]]:
    known = canonical_values()
    out: dict[str, tuple[str, ...]] = {}
    claimed: dict[str, str] = {}
    for canonical, spellings in _mapping_of(name, "value_aliases", raw).items():
        key = f"value_aliases.{canonical}"
        if canonical not in known:
            raise InputError(
                f"{name}: key '{key}': '{canonical}' is not a value of the data dictionary "
                "(a value alias must name a canonical category value or therapy token, spelt exactly)"
            )
        out[canonical] = _texts(name, key, spellings)
        _claim(name, key, claimed, out[canonical], value_key, canonical, "spelling")
    return out
