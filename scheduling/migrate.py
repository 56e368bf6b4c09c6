"""Schema migrations through Alembic, callable from the CLI and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrades the database at `url` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrades through an existing async engine, from inside a running event loop."""

    def _upgrade(connection: object) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


_HEAD: str | None = None


def head_revision() -> str:
    """The newest migration this code carries (read once; the files don't change under a running process)."""
    global _HEAD  # noqa: PLW0603 -- a read-only cache of the migration scripts' head
    if _HEAD is None:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None
        _HEAD = head
    return _HEAD


_KNOWN: frozenset[str] | None = None


def schema_check(version: str | None) -> str:
    """Returns "ok" when the database is at this code's head, or at a revision this code does not carry: a newer release's
    migrate step ran during a rolling upgrade, and since migrations are expand-only (docs/migrations.md) this release
    keeps working until it is replaced. Otherwise what is wrong: behind (or no schema) means `fairmeet db upgrade`."""
    global _KNOWN  # noqa: PLW0603 -- a read-only cache of the migration scripts' revisions
    head = head_revision()
    if version == head:
        return "ok"
    if _KNOWN is None:
        _KNOWN = frozenset(rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions())
    if version is not None and version not in _KNOWN:
        return "ok"
    return f"at {version}, this code needs {head}"
