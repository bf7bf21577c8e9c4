import sys

from services.scoring.app import DEFINITION, create_app
from services.scoring.settings import ScoringSettings
from shared.cli import main

sys.exit(main(DEFINITION, ScoringSettings, create_app))  # type: ignore[arg-type]
