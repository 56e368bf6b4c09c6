"""Migrations are expand-only unless declared a contract step (docs/migrations.md).

During a rolling upgrade the previous release keeps serving against the new schema, so a migration may add (tables,
nullable columns or columns with a server default, indexes that refuse nothing) but not take away or tighten what the
previous release still uses: no dropped or renamed tables and columns, no column made NOT NULL or re-typed, no new NOT
NULL column without a server default, no unique index, check or foreign key over existing columns of an existing table.
Those belong to a contract step, a migration of a later release that says so: a module-level `contract = True` and a
docstring line `Safe after: <revision>` naming the migration head of the release that stopped using what it removes.

The rule reads the files' syntax (upgrade() and the module's SQL strings); the newest migration also round-trips
upgrade -> downgrade -> upgrade on PostgreSQL with the same schema afterwards.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from scheduling import migrate
from scheduling.db import create_engine
from tests.conftest import throwaway_pg

VERSIONS = migrate.MIGRATIONS / "versions"

# Written before the rule existed. Each is frozen as it is; the findings the rule makes on it are listed so the reason
# stays true (a new migration never joins this list: it follows the rule or declares itself a contract step).
GRANDFATHERED: dict[str, tuple[str, set[str]]] = {
    "0001": ("the initial schema: it creates every table, nothing existed before it", set()),
    "0002": ("adds the conversation tables only (expand)", set()),
    "0003": ("adds users.session_epoch NOT NULL with server default 0 (expand)", set()),
    "0004": ("live chat: new tables, new columns with server defaults; a partial unique index on conversation_events over "
             "author-less lines, which the previous release did not write (its room lines always had an author)",
             {"unique index on existing table conversation_events"}),
    "0005": ("adds the follow-up tables only (expand)", set()),
    "0006": ("the desk: new tables, nullable or defaulted columns, foreign keys on its own new columns (expand)", set()),
    "0007": ("renames case-duplicate companies and adds a unique index on lower(name): a tightening; the previous release "
             "answers a duplicate company with 500 (tests/deploy/test_rolling_upgrade.py, docs/migrations.md)",
             {"unique index on existing table companies"}),
}

CONTRACT_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN|VIEW)|RENAME\s+(TO|COLUMN)|SET\s+NOT\s+NULL|ALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE|"
                          r"ADD\s+CONSTRAINT|CREATE\s+UNIQUE\s+INDEX)\b", re.I)
SAFE_AFTER = re.compile(r"^Safe after:\s*(\S+)", re.M)


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _columns(node: ast.expr | None) -> list[str | None]:
    """Column names of an index or constraint (None for an expression such as sa.text('lower(name)'))."""
    if isinstance(node, ast.List | ast.Tuple):
        return [_str(e) for e in node.elts]
    return [None]


class Upgrade(ast.NodeVisitor):
    """What upgrade() does to tables that existed before it."""

    def __init__(self) -> None:
        self.created: set[str] = set()
        self.added: set[tuple[str, str]] = set()
        self.findings: list[str] = []
        self.aliases: dict[str, str] = {}  # batch_op -> table

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and _name(call.func) == "batch_alter_table" and isinstance(item.optional_vars, ast.Name):
                table = _str(call.args[0]) if call.args else _str(_kw(call, "table_name"))
                self.aliases[item.optional_vars.id] = table or "?"
        self.generic_visit(node)

    def _target(self, call: ast.Call, at: int) -> tuple[str, list[ast.expr]]:
        """(table, the other positional args): batch_op.x(...) has its table from the with, op.x(...) at position `at`."""
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in self.aliases:
            return self.aliases[func.value.id], list(call.args)
        args = list(call.args)
        table = _str(args.pop(at)) if len(args) > at else _str(_kw(call, "table_name")) or _str(_kw(call, "source_table"))
        return table or "?", args

    def visit_Call(self, call: ast.Call) -> None:
        self.generic_visit(call)
        op = _name(call.func)
        if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
            return
        if op == "create_table":
            self.created.add(_str(call.args[0]) or "?")
            return
        if op not in {"drop_table", "rename_table", "drop_column", "alter_column", "add_column", "create_index", "create_unique_constraint",
                      "create_check_constraint", "create_foreign_key", "create_primary_key"}:
            return
        if op == "drop_table":
            self.findings.append(f"drops table {_str(call.args[0]) if call.args else '?'}")
            return
        if op == "rename_table":
            self.findings.append(f"renames table {_str(call.args[0]) if call.args else '?'}")
            return
        table, args = self._target(call, 1 if op.startswith("create_") else 0)
        if table in self.created:
            return  # new in this migration: the previous release never saw it
        if op == "drop_column":
            self.findings.append(f"drops column {table}.{_str(args[0]) if args else '?'}")
        elif op == "alter_column":
            column = (_str(args[0]) if args else None) or _str(_kw(call, "column_name")) or "?"
            if _kw(call, "new_column_name") is not None:
                self.findings.append(f"renames column {table}.{column}")
            if _is_false(_kw(call, "nullable")) and _kw(call, "server_default") is None:
                self.findings.append(f"makes {table}.{column} NOT NULL without a server default")
            if _kw(call, "type_") is not None:
                self.findings.append(f"changes the type of {table}.{column}")
        elif op == "add_column":
            col = args[0] if args else None
            if isinstance(col, ast.Call) and _name(col.func) == "Column":
                name = (_str(col.args[0]) if col.args else None) or "?"
                self.added.add((table, name))
                if _is_false(_kw(col, "nullable")) and _kw(col, "server_default") is None:
                    self.findings.append(f"adds NOT NULL column {table}.{name} without a server default")
        elif op == "create_check_constraint":
            self.findings.append(f"check constraint on existing table {table}")
        else:  # args: [name, columns] (index, unique, primary key) or [name, referent table, local columns, ...] (foreign key)
            at, kw = (2, "local_cols") if op == "create_foreign_key" else (1, "columns")
            columns = _columns(args[at] if len(args) > at else _kw(call, kw))
            unique = op != "create_index" or _is_true(_kw(call, "unique"))
            if unique and not self._all_new(table, columns):
                what = "unique index" if op == "create_index" else op.removeprefix("create_").replace("_", " ")
                self.findings.append(f"{what} on existing table {table}")

    def _all_new(self, table: str, columns: list[str | None]) -> bool:
        return all(c is not None and (table, c) in self.added for c in columns)


def analyse(source: str) -> dict[str, Any]:
    """The rule's view of one migration: revision, down_revision, contract marker, docstring, findings, downgrade."""
    tree = ast.parse(source)
    values: dict[str, Any] = {}
    functions: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
        elif isinstance(node, ast.FunctionDef):
            functions[node.name] = node
    findings: list[str] = []
    if "upgrade" in functions:
        visitor = Upgrade()
        visitor.visit(functions["upgrade"])
        findings += visitor.findings
    else:
        findings.append("no upgrade()")
    downgrade = functions.get("downgrade")
    skip = {id(downgrade)} if downgrade else set()
    for fn in functions.values():  # SQL strings in upgrade() and its helpers (not in downgrade(), which may drop)
        if id(fn) in skip:
            continue
        for sub in ast.walk(fn):
            s = _str(sub) if isinstance(sub, ast.expr) else None
            hit = CONTRACT_SQL.search(s) if s and s != ast.get_docstring(fn) else None
            if hit:
                findings.append(f"SQL that contracts: {hit.group(0)!r}")
    empty_downgrade = downgrade is None or all(
        isinstance(st, ast.Pass) or (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant)) for st in downgrade.body)
    return {"revision": values.get("revision"), "down_revision": values.get("down_revision"), "contract": values.get("contract") is True,
            "doc": ast.get_docstring(tree) or "", "findings": findings, "empty_downgrade": empty_downgrade}


def _ancestors(revision: str, chain: dict[str, str | None]) -> list[str]:
    out = []
    rev = chain.get(revision)
    while rev is not None:
        out.append(rev)
        rev = chain.get(rev)
    return out


def problems(info: dict[str, Any], chain: dict[str, str | None]) -> list[str]:
    """What is wrong with a migration that is not grandfathered."""
    out = []
    if info["empty_downgrade"]:
        out.append("downgrade() is missing or empty")
    if info["findings"] and not info["contract"]:
        out.append("contracts the schema without `contract = True`: " + "; ".join(info["findings"]))
    if info["contract"]:
        safe = SAFE_AFTER.search(info["doc"])
        if safe is None:
            out.append("a contract step whose docstring has no 'Safe after: <revision>' line")
        elif safe.group(1) not in _ancestors(info["revision"], chain):
            out.append(f"'Safe after: {safe.group(1)}' names no earlier migration (its release must have stopped using what this removes)")
    return out


def _migrations(versions: Path = VERSIONS) -> dict[str, dict[str, Any]]:
    infos = {}
    for path in sorted(versions.glob("*.py")):
        info = analyse(path.read_text())
        info["file"] = path.name
        infos[info["revision"]] = info
    return infos


def violations(versions: Path = VERSIONS) -> dict[str, list[str]]:
    """Each migration file that breaks the rule, with what is wrong (grandfathered ones must still match their entry)."""
    infos = _migrations(versions)
    chain = {rev: info["down_revision"] for rev, info in infos.items()}
    report = {}
    for rev, info in infos.items():
        if rev in GRANDFATHERED:
            expected = GRANDFATHERED[rev][1]
            if set(info["findings"]) != expected:
                report[info["file"]] = [f"the rule now finds {info['findings']}; its grandfathered entry says {sorted(expected)}"]
            elif info["empty_downgrade"]:
                report[info["file"]] = ["downgrade() is missing or empty"]
        elif found := problems(info, chain):
            report[info["file"]] = found
    return report


def test_migrations_are_expand_only_or_declared_contract_steps() -> None:
    report = violations()
    assert not report, "migrations that would break the previous release during a rolling upgrade (docs/migrations.md):\n" + \
        "\n".join(f"  {f}: {'; '.join(p)}" for f, p in report.items())


def test_a_new_contracting_migration_fails_the_rule(tmp_path: Path) -> None:
    for path in VERSIONS.glob("*.py"):
        (tmp_path / path.name).write_text(path.read_text())
    bad = HEADER.format(doc="drop a column", extra="").replace('"0003"', '"9998"').replace('"0002"', '"0007"') + \
        "\ndef upgrade() -> None:\n    with op.batch_alter_table('users') as b:\n        b.drop_column('name')\n" + DOWN
    (tmp_path / "9998_bad.py").write_text(bad)
    assert violations(tmp_path) == {"9998_bad.py": ["contracts the schema without `contract = True`: drops column users.name"]}


def test_grandfathered_list_is_closed() -> None:
    """Only the migrations written before the rule are grandfathered, and each of them exists."""
    assert set(GRANDFATHERED) == {f"{n:04d}" for n in range(1, 8)}
    assert set(GRANDFATHERED) <= set(_migrations())


CHAIN = {"0001": None, "0002": "0001", "0003": "0002"}
HEADER = '"""{doc}"""\nfrom alembic import op\nimport sqlalchemy as sa\nrevision = "0003"\ndown_revision = "0002"\n{extra}\n'
DOWN = "\ndef downgrade() -> None:\n    op.drop_table('x')\n"


@pytest.mark.parametrize(("body", "flagged"), [
    ("op.create_table('t', sa.Column('id', sa.Integer(), nullable=False))\n    op.create_index('ix', 't', ['id'], unique=True)", None),
    ("with op.batch_alter_table('users') as b:\n        b.add_column(sa.Column('n', sa.Integer(), server_default='0', nullable=False))", None),
    ("with op.batch_alter_table('users') as b:\n        b.add_column(sa.Column('n', sa.Integer(), nullable=True))\n"
     "        b.create_foreign_key('fk', 'teams', ['n'], ['id'])", None),
    ("with op.batch_alter_table('users') as b:\n        b.alter_column('name', nullable=True)", None),
    ("op.drop_table('users')", "drops table users"),
    ("op.drop_column('users', 'name')", "drops column users.name"),
    ("with op.batch_alter_table('users') as b:\n        b.drop_column('name')", "drops column users.name"),
    ("op.rename_table('users', 'people')", "renames table users"),
    ("op.alter_column('users', 'name', new_column_name='full_name')", "renames column users.name"),
    ("with op.batch_alter_table('users') as b:\n        b.alter_column('phone', nullable=False)", "makes users.phone NOT NULL without a server default"),
    ("op.alter_column('users', 'name', type_=sa.String(50))", "changes the type of users.name"),
    ("op.add_column('users', sa.Column('n', sa.Integer(), nullable=False))", "adds NOT NULL column users.n without a server default"),
    ("with op.batch_alter_table('companies') as b:\n        b.create_index('uq', ['event_id', sa.text('lower(name)')], unique=True)",
     "unique index on existing table companies"),
    ("op.create_unique_constraint('uq', 'users', ['email'])", "unique constraint on existing table users"),
    ("op.create_check_constraint('ck', 'users', 'age > 0')", "check constraint on existing table users"),
    ("op.execute('ALTER TABLE users DROP COLUMN name')", "SQL that contracts: 'DROP COLUMN'"),
])
def test_rule_reads_the_operations(body: str, flagged: str | None) -> None:
    info = analyse(HEADER.format(doc="m", extra="") + f"\ndef upgrade() -> None:\n    {body}\n" + DOWN)
    assert info["findings"] == ([flagged] if flagged else [])
    assert problems(info, CHAIN) == ([] if flagged is None else [f"contracts the schema without `contract = True`: {flagged}"])
    declared = analyse(HEADER.format(doc="drop it\n\nSafe after: 0002\n", extra="contract = True") + f"\ndef upgrade() -> None:\n    {body}\n" + DOWN)
    assert problems(declared, CHAIN) == []


def test_contract_steps_name_an_earlier_release_and_downgrades_exist() -> None:
    up = "\ndef upgrade() -> None:\n    op.drop_column('users', 'name')\n"
    no_line = analyse(HEADER.format(doc="drop users.name", extra="contract = True") + up + DOWN)
    assert problems(no_line, CHAIN) == ["a contract step whose docstring has no 'Safe after: <revision>' line"]
    itself = analyse(HEADER.format(doc="x\n\nSafe after: 0003\n", extra="contract = True") + up + DOWN)
    assert "names no earlier migration" in problems(itself, CHAIN)[0]
    no_down = analyse(HEADER.format(doc="x", extra="") + "\ndef upgrade() -> None:\n    pass\n\ndef downgrade() -> None:\n    pass\n")
    assert problems(no_down, CHAIN) == ["downgrade() is missing or empty"]


async def _schema(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            cols = (await conn.execute(text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY 1, 2"))).all()
            idx = (await conn.execute(text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"))).all()
            cons = (await conn.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"))).all()
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    return [tuple(r) for r in [*cols, *idx, *cons, *version]]


def test_newest_migration_round_trips_on_postgresql() -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("head")
    assert head is not None and head.down_revision is not None
    with throwaway_pg("fairmeet_roundtrip") as url:
        before = asyncio.run(_schema(url))
        command.downgrade(migrate.alembic_config(url), str(head.down_revision))
        down = asyncio.run(_schema(url))
        assert down != before and (str(head.down_revision),) in down
        command.upgrade(migrate.alembic_config(url), "head")
        assert asyncio.run(_schema(url)) == before
    print(f"\n{head.revision} -> {head.down_revision} -> {head.revision}: same schema ({len(before)} columns, indexes and constraints)")


def test_readiness_accepts_a_newer_releases_schema() -> None:
    """A replica of this release stays ready once the next release's migrate step ran (a revision it does not carry);
    a database behind this code's head is not ready."""
    head = migrate.head_revision()
    assert migrate.schema_check(head) == "ok"
    assert migrate.schema_check("9999_next_release") == "ok"
    script = ScriptDirectory.from_config(migrate.alembic_config())
    older = script.get_revision(head).down_revision
    assert migrate.schema_check(str(older)) == f"at {older}, this code needs {head}"
    assert migrate.schema_check(None) == f"at None, this code needs {head}"
