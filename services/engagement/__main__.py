import sys

from services.engagement.app import DEFINITION, create_app
from services.engagement.settings import EngagementSettings
from shared.cli import main

sys.exit(main(DEFINITION, EngagementSettings, create_app))  # type: ignore[arg-type]
