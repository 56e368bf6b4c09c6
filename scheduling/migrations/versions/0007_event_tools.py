"""event tools: profiles with CVs, 1-1 chat outcomes, announcements, slot watches, one company name per event

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import scheduling.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _dedupe_company_names() -> None:
    """Companies that share a name (any case) within an event get a number, so the unique index can be built."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, event_id, name FROM companies ORDER BY id")).all()
    seen: set[tuple[int, str]] = {(e, n.lower()) for _, e, n in rows}
    first: set[tuple[int, str]] = set()
    for cid, event_id, name in rows:
        key = (event_id, name.lower())
        if key not in first:
            first.add(key)
            continue
        n = 2
        while (event_id, f"{name} ({n})".lower()) in seen:
            n += 1
        new = f"{name[:190]} ({n})"
        seen.add((event_id, new.lower()))
        bind.execute(sa.text("UPDATE companies SET name = :n WHERE id = :i"), {"n": new, "i": cid})


def upgrade() -> None:
    _dedupe_company_names()
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index('uq_companies_event_name', ['event_id', sa.text('lower(name)')], unique=True)

    op.create_table('profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('skills', sa.Text(), server_default='', nullable=False),
    sa.Column('linkedin_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('portfolio_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('cv_file', sa.String(length=200), server_default='', nullable=False),
    sa.Column('cv_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('cv_type', sa.String(length=100), server_default='', nullable=False),
    sa.Column('cv_size', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_profiles'))
    )
    op.create_table('chat_outcomes',
    sa.Column('chat_request_id', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('next_step', sa.String(length=120), server_default='', nullable=False),
    sa.Column('no_show', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating IS NULL OR (rating BETWEEN 1 AND 5)', name=op.f('ck_chat_outcomes_rating_range')),
    sa.ForeignKeyConstraint(['chat_request_id'], ['chat_requests.id'], name=op.f('fk_chat_outcomes_chat_request_id_chat_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_chat_outcomes_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('chat_request_id', name=op.f('pk_chat_outcomes'))
    )
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("audience IN ('all', 'talent', 'recruiter', 'organizer')", name=op.f('ck_announcements_audience_known')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_announcements_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_announcements_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_event_id'), ['event_id'], unique=False)
    op.create_table('slot_watches',
    sa.Column('chat_request_id', sa.Integer(), nullable=False),
    sa.Column('recruiter_id', sa.Integer(), nullable=False),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notified_at', scheduling.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chat_request_id'], ['chat_requests.id'], name=op.f('fk_slot_watches_chat_request_id_chat_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recruiter_id'], ['users.id'], name=op.f('fk_slot_watches_recruiter_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chat_request_id', name=op.f('pk_slot_watches'))
    )
    with op.batch_alter_table('slot_watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slot_watches_recruiter_id'), ['recruiter_id'], unique=False)


def downgrade() -> None:
    op.drop_table('slot_watches')
    op.drop_table('announcements')
    op.drop_table('chat_outcomes')
    op.drop_table('profiles')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index('uq_companies_event_name')
