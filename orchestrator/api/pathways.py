"""Pathways and their versions; deployment by upload."""

from flask import current_app
from flask_smorest import Blueprint, abort

from ..auth import guard
from ..care import enrolment
from ..core import queries
from ..tools import deploy
from . import actor, log_shown
from .schemas import (
    AnswerResultSchema,
    ConsentAnswerSchema,
    ConsentSchema,
    DeployFilesSchema,
    DeployResultSchema,
    InstanceStateSchema,
    PathwaySchema,
    VersionDetailSchema,
)
from .views import answered

blp = Blueprint("pathways", __name__, description="Deployed pathways and their versions")


@blp.route("")
@blp.response(200, PathwaySchema(many=True))
def list_pathways():
    """List deployed pathways with their versions."""
    return queries.pathways()


@blp.route("/<key>/versions", methods=["POST"])
@blp.arguments(DeployFilesSchema, location="files")
@blp.response(201, DeployResultSchema)
@blp.alt_response(200, schema=DeployResultSchema, description="the same content was already deployed")
@blp.alt_response(413, description="upload too large")
@blp.alt_response(422, description="the package is not valid; `errors` lists each problem")
def deploy_version(files, key):
    """Deploy a package as the pathway's next version: a zip (`package`) or its files (`files`, repeated)."""
    guard.require("designer", "admin")
    result = deploy.deploy([_package(key, files)], actor())[0]
    return result, 201 if result.created else 200


def _package(key: str, files: dict) -> deploy.Package:
    forms_dir = current_app.config["POLKU_FORMS_DIR"]
    if files.get("package") is not None:
        return deploy.from_zip(files["package"].read(), key, forms_dir)
    uploads = {f.filename: f.read() for f in files.get("files", []) if f.filename}
    if not uploads:
        abort(400, message="send the package as a zip in 'package' or its files in 'files'")
    return deploy.from_files(uploads, key, forms_dir)


@blp.route("/<key>")
@blp.response(200, PathwaySchema)
def pathway(key):
    """One pathway with its versions."""
    return queries.pathway_or_404(key)


@blp.route("/<key>/versions/<int(min=1, max=2147483647):number>")
@blp.response(200, VersionDetailSchema)
def version(key, number):
    """One version: its human tasks' metadata, forms and messages."""
    return queries.version_or_404(key, number)


def _self_care(key: str):
    """The latest version of a self-care pathway that asks consent (the catalogue's), else 404."""
    version = queries.version_or_404(key, None)
    if version.kind != "self-care" or enrolment.consent_page(version) is None:
        abort(404, message=f"pathway '{key}' has no consent for a client to give")
    return version


@blp.route("/<key>/consent")
@blp.response(200, ConsentSchema)
def consent_text(key):
    """A self-care pathway's consent text, with the hash to send back with the answer."""
    guard.client_in_person()
    return enrolment.consent_of(_self_care(key))


@blp.route("/<key>/consent", methods=["POST"])
@blp.arguments(ConsentAnswerSchema)
@blp.response(201, InstanceStateSchema)
@blp.alt_response(200, schema=AnswerResultSchema, description="declined: nothing started")
@blp.alt_response(409, description="on the pathway already, or the text changed since it was read")
def answer_consent(args, key):
    """The client gives or declines consent to a self-care pathway; given, it starts for them."""
    me = guard.client_in_person()
    version = _self_care(key)
    started = enrolment.answer(version, me, actor(), args["answer"], args["text_hash"])
    if started is not None:
        log_shown({me: started.id}, "instance")
    return answered(started)
