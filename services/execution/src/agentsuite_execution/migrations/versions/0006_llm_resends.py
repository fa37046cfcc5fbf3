"""LLM calls kept for re-sending: `llm_calls` gains the kit's client columns (the request
as sent, while pending; how often it was sent again). Existing rows keep everything: their
request is null (never re-sent) and their count 0."""

from agentsuite_kit.llm.table import add_resend_columns, drop_resend_columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_resend_columns("llm_calls")


def downgrade() -> None:
    drop_resend_columns("llm_calls")
