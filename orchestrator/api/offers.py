"""Pathways opened for a client that wait for their consent, and the client's answer to one."""

from flask_smorest import Blueprint, abort

from ..auth import guard
from ..care import enrolment
from ..extensions import db
from ..models import Offer
from . import actor, log_shown
from .schemas import AnswerResultSchema, ConsentAnswerSchema, ConsentSchema, InstanceStateSchema, OfferSchema
from .views import answered

blp = Blueprint("offers", __name__, description="Pathways opened for a client, waiting for their consent")


@blp.route("")
@blp.response(200, OfferSchema(many=True))
def list_offers():
    """The signed-in client's offers still waiting for an answer, oldest first."""
    me = guard.client_in_person()
    found = enrolment.pending_offers(me)
    log_shown({me: ",".join(str(o.id) for o in found) or "-"}, "offer-list")
    return found


def offer_for(offer_id: int) -> Offer:
    """An offer made to the signed-in client; 404 for anyone else's."""
    me = guard.client_in_person()
    found = db.session.get(Offer, offer_id)
    if found is None or found.client_id != me:
        abort(404, message=f"offer {offer_id} not found")
    return found


@blp.route("/<int(min=1, max=2147483647):offer_id>/consent")
@blp.response(200, ConsentSchema)
def consent_text(offer_id):
    """The consent text of an offered pathway, with the hash to send back with the answer."""
    found = offer_for(offer_id)
    log_shown({found.client_id: found.id}, "offer")
    return enrolment.consent_of(found.version)


@blp.route("/<int(min=1, max=2147483647):offer_id>/consent", methods=["POST"])
@blp.arguments(ConsentAnswerSchema)
@blp.response(201, InstanceStateSchema)
@blp.alt_response(200, schema=AnswerResultSchema, description="declined: nothing started")
@blp.alt_response(409, description="answered already, on the pathway already, or the text changed since it was read")
def answer(args, offer_id):
    """The client gives or declines consent to an offered pathway; given, the pathway starts."""
    found = offer_for(offer_id)  # answered already: refused inside the write that would answer it
    started = enrolment.answer(found.version, found.client_id, actor(), args["answer"], args["text_hash"], found)
    log_shown({found.client_id: found.id}, "offer")
    return answered(started)
