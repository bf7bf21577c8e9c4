import sys

from services.profile.app import DEFINITION, create_app
from services.profile.importer import command as import_command
from services.profile.settings import ProfileSettings
from shared.cli import main

sys.exit(main(DEFINITION, ProfileSettings, create_app, extra_commands={"import": import_command}))  # type: ignore[arg-type,dict-item]
