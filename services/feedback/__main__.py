import sys

from services.feedback.app import DEFINITION, create_app
from services.feedback.settings import FeedbackSettings
from shared.cli import main

sys.exit(main(DEFINITION, FeedbackSettings, create_app))  # type: ignore[arg-type]
