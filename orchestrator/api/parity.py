"""What the pages do, for integrations too: a pathway's messages, measurements (also FHIR), diaries and results, and
the client's own data. Their routes name their resources under /api/v1."""

from flask_smorest import Api

from . import conversation, diaries, export, observations, results


def register(api: Api) -> None:
    for module in (conversation, observations, diaries, results, export):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
