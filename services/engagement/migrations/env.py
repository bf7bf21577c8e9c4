from alembic import context

from services.engagement.models import metadata
from shared.migrations import run_env

run_env(context, metadata)
