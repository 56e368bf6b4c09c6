"""The roster's CSV reading, pure: a file exported by Fairmeet imports back as it was."""

from __future__ import annotations

from scheduling import roster
from scheduling.livechat.export import cell


def test_an_exported_formula_guard_is_not_kept_as_data() -> None:
    exported = "name,description,website\n" + ",".join([cell("+Plus Corp"), cell("@risky"), cell("https://plus.example")]) + "\n"
    assert exported.splitlines()[1].startswith("'+Plus Corp,'@risky")
    preview = roster.parse("companies", exported)
    assert preview.ok, preview
    assert preview.rows[0].values["name"] == "+Plus Corp" and preview.rows[0].values["description"] == "@risky"


def test_an_apostrophe_that_guards_nothing_stays() -> None:
    preview = roster.parse("companies", "name,description\n'Quoted' Ltd,'tis the season\n")
    assert preview.rows[0].values["name"] == "'Quoted' Ltd" and preview.rows[0].values["description"] == "'tis the season"
