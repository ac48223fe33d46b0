"""Care features of a pathway: consent and opening (``enrolment``), messages under the service promise,
content pages, diaries, measurements and observations, staff surveys and the client's FHIR export.

They write through the step core (``core.database.write`` or a step) and never touch the engine.
"""
