"""Pathways and their versions; deployment by upload."""

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from .. import deploy, queries
from ..engine import PackageInvalid
from . import actor, invalid
from .schemas import (
    DeployFilesSchema,
    DeployFormSchema,
    DeployResultSchema,
    PathwaySchema,
    VersionDetailSchema,
)

blp = Blueprint("pathways", __name__, description="Deployed pathways and their versions")


@blp.route("")
class Pathways(MethodView):
    @blp.response(200, PathwaySchema(many=True))
    def get(self):
        """List deployed pathways with their versions."""
        return queries.pathways()

    @blp.arguments(DeployFormSchema, location="form")
    @blp.arguments(DeployFilesSchema, location="files")
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema, description="the same content was already deployed")
    @blp.alt_response(413, description="upload too large")
    @blp.alt_response(422, description="the package is not valid; `errors` lists each problem")
    def post(self, form, files):
        """Deploy a package: a zip (`package`) or its files (`files`, repeated)."""
        package = _package(form["key"])
        try:
            result = deploy.deploy([package], actor())[0]
        except PackageInvalid as exc:
            invalid(exc)
        return result, 201 if result.created else 200


def _package(key: str) -> deploy.Package:
    forms_dir = current_app.config["POLKU_FORMS_DIR"]
    try:
        if "package" in request.files:
            return deploy.from_zip(request.files["package"].read(), key, forms_dir)
        uploads = {f.filename: f.read() for f in request.files.getlist("files") if f.filename}
        if not uploads:
            abort(400, message="send the package as a zip in 'package' or its files in 'files'")
        return deploy.from_files(uploads, key, forms_dir)
    except PackageInvalid as exc:
        invalid(exc)


@blp.route("/<key>")
@blp.response(200, PathwaySchema)
def pathway(key):
    """One pathway with its versions."""
    return queries.pathway_or_404(key)


@blp.route("/<key>/versions/<int:number>")
@blp.response(200, VersionDetailSchema)
def version(key, number):
    """One version: its human tasks' metadata, forms and messages."""
    return queries.version_or_404(key, number)
