import sys

from services.profile.app import DEFINITION, create_app
from services.profile.settings import ProfileSettings
from shared.cli import main

sys.exit(main(DEFINITION, ProfileSettings, create_app))  # type: ignore[arg-type]
