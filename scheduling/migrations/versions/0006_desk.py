"""live chat desk: teams, routing, offers, members, tickets, replies, articles, attachments, ratings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:22:18.930973
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import scheduling.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('keywords', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_live_articles_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_live_articles_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_articles'))
    )
    with op.batch_alter_table('live_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_articles_event_id'), ['event_id'], unique=False)

    op.create_table('live_saved_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('keywords', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(owner_id IS NULL) <> (event_id IS NULL)', name=op.f('ck_live_saved_replies_one_scope')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_live_saved_replies_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_live_saved_replies_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_live_saved_replies_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_saved_replies'))
    )
    with op.batch_alter_table('live_saved_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_saved_replies_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_saved_replies_owner_id'), ['owner_id'], unique=False)

    op.create_table('live_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_live_teams_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_teams')),
    sa.UniqueConstraint('event_id', 'name', name=op.f('uq_live_teams_event_id_name'))
    )
    with op.batch_alter_table('live_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_teams_event_id'), ['event_id'], unique=False)

    op.create_table('live_team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['live_teams.id'], name=op.f('fk_live_team_members_team_id_live_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_live_team_members'))
    )
    with op.batch_alter_table('live_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('live_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_chat_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('file', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['live_chat_id'], ['live_chats.id'], name=op.f('fk_live_attachments_live_chat_id_live_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_attachments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_attachments'))
    )
    with op.batch_alter_table('live_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_attachments_live_chat_id'), ['live_chat_id'], unique=False)

    op.create_table('live_chat_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_chat_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('joined_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', scheduling.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_live_chat_members_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['live_chat_id'], ['live_chats.id'], name=op.f('fk_live_chat_members_live_chat_id_live_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_chat_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_chat_members')),
    sa.UniqueConstraint('live_chat_id', 'user_id', name=op.f('uq_live_chat_members_live_chat_id_user_id'))
    )
    with op.batch_alter_table('live_chat_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_chat_members_user_id'), ['user_id'], unique=False)

    op.create_table('live_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_chat_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('offered_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('decided_at', scheduling.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_live_offers_from_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['live_chat_id'], ['live_chats.id'], name=op.f('fk_live_offers_live_chat_id_live_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_offers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_offers'))
    )
    with op.batch_alter_table('live_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_offers_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_live_offers_user_outcome', ['user_id', 'outcome'], unique=False)
        batch_op.create_index('uq_live_offers_pending', ['live_chat_id'], unique=True, sqlite_where=sa.text("outcome = 'pending' AND reason <> 'invite'"), postgresql_where=sa.text("outcome = 'pending' AND reason <> 'invite'"))
        batch_op.create_index('uq_live_offers_pending_invite', ['live_chat_id', 'user_id'], unique=True, sqlite_where=sa.text("outcome = 'pending' AND reason = 'invite'"), postgresql_where=sa.text("outcome = 'pending' AND reason = 'invite'"))

    op.create_table('live_routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('job_req_id', sa.Integer(), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.String(length=200), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(team_id IS NULL) <> (user_id IS NULL)', name=op.f('ck_live_routing_rules_one_target')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_live_routing_rules_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_live_routing_rules_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_req_id'], ['job_reqs.id'], name=op.f('fk_live_routing_rules_job_req_id_job_reqs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['knockout_questions.id'], name=op.f('fk_live_routing_rules_question_id_knockout_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['live_teams.id'], name=op.f('fk_live_routing_rules_team_id_live_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_live_routing_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_routing_rules'))
    )
    with op.batch_alter_table('live_routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_routing_rules_event_id'), ['event_id'], unique=False)

    op.create_table('live_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('live_chat_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('transcript_sent_at', scheduling.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduling.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_live_tickets_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_live_tickets_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['live_chat_id'], ['live_chats.id'], name=op.f('fk_live_tickets_live_chat_id_live_chats'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_tickets')),
    sa.UniqueConstraint('live_chat_id', name=op.f('uq_live_tickets_live_chat_id'))
    )
    with op.batch_alter_table('live_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_tickets_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_rating_style', sa.String(length=8), server_default='stars', nullable=False))
        batch_op.add_column(sa.Column('live_emoji_staff', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('live_emoji_candidate', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('live_accept_seconds', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('live_remind_seconds', sa.Integer(), server_default='90', nullable=False))
        batch_op.add_column(sa.Column('live_resolve_minutes', sa.Integer(), server_default='15', nullable=False))

    with op.batch_alter_table('live_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offered_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offer_expires_at', scheduling.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('candidate_seen_at', scheduling.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rating_asked_at', scheduling.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rated_at', scheduling.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_live_chats_offer_expires_at'), ['offer_expires_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_live_chats_team_id_live_teams'), 'live_teams', ['team_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_live_chats_offered_to_id_users'), 'users', ['offered_to_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('live_chats', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_live_chats_offered_to_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_live_chats_team_id_live_teams'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_live_chats_offer_expires_at'))
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating_comment')
        batch_op.drop_column('rating')
        batch_op.drop_column('rating_asked_at')
        batch_op.drop_column('candidate_seen_at')
        batch_op.drop_column('offer_expires_at')
        batch_op.drop_column('offered_to_id')
        batch_op.drop_column('team_id')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('live_resolve_minutes')
        batch_op.drop_column('live_remind_seconds')
        batch_op.drop_column('live_accept_seconds')
        batch_op.drop_column('live_emoji_candidate')
        batch_op.drop_column('live_emoji_staff')
        batch_op.drop_column('live_rating_style')

    with op.batch_alter_table('live_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_tickets_updated_at'))
        batch_op.drop_index(batch_op.f('ix_live_tickets_assignee_id'))

    op.drop_table('live_tickets')
    with op.batch_alter_table('live_routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_routing_rules_event_id'))

    op.drop_table('live_routing_rules')
    with op.batch_alter_table('live_offers', schema=None) as batch_op:
        batch_op.drop_index('uq_live_offers_pending_invite', sqlite_where=sa.text("outcome = 'pending' AND reason = 'invite'"), postgresql_where=sa.text("outcome = 'pending' AND reason = 'invite'"))
        batch_op.drop_index('uq_live_offers_pending', sqlite_where=sa.text("outcome = 'pending' AND reason <> 'invite'"), postgresql_where=sa.text("outcome = 'pending' AND reason <> 'invite'"))
        batch_op.drop_index('ix_live_offers_user_outcome')
        batch_op.drop_index(batch_op.f('ix_live_offers_expires_at'))

    op.drop_table('live_offers')
    with op.batch_alter_table('live_chat_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_chat_members_user_id'))

    op.drop_table('live_chat_members')
    with op.batch_alter_table('live_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_attachments_live_chat_id'))

    op.drop_table('live_attachments')
    with op.batch_alter_table('live_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_team_members_user_id'))

    op.drop_table('live_team_members')
    with op.batch_alter_table('live_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_teams_event_id'))

    op.drop_table('live_teams')
    with op.batch_alter_table('live_saved_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_saved_replies_owner_id'))
        batch_op.drop_index(batch_op.f('ix_live_saved_replies_event_id'))

    op.drop_table('live_saved_replies')
    with op.batch_alter_table('live_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_articles_event_id'))

    op.drop_table('live_articles')
