"""Answers in words on the pages: worded in ``care.answer_words``, for the pages and the FHIR export alike."""

from ..care.answer_words import Answer, in_words, plain

__all__ = ["Answer", "in_words", "plain"]
