"""live chat follow-ups: forwards to colleagues, personal follow-up calendars

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import scheduling.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_chat_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_chat_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('shared_by_id', sa.Integer(), nullable=True),
    sa.Column('resume', sa.Boolean(), nullable=False),
    sa.Column('transcript', sa.Boolean(), nullable=False),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['live_chat_id'], ['live_chats.id'], name=op.f('fk_live_chat_shares_live_chat_id_live_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shared_by_id'], ['users.id'], name=op.f('fk_live_chat_shares_shared_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_chat_shares_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_chat_shares')),
    sa.UniqueConstraint('live_chat_id', 'user_id', name=op.f('uq_live_chat_shares_live_chat_id_user_id'))
    )
    with op.batch_alter_table('live_chat_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_chat_shares_user_id'), ['user_id'], unique=False)

    op.create_table('live_followup_calendars',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_live_followup_calendars_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_followup_calendars_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_live_followup_calendars')),
    sa.UniqueConstraint('event_id', name=op.f('uq_live_followup_calendars_event_id'))
    )


def downgrade() -> None:
    op.drop_table('live_followup_calendars')
    with op.batch_alter_table('live_chat_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_chat_shares_user_id'))

    op.drop_table('live_chat_shares')
