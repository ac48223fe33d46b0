"""The channels the outbox sends through: e-mail over SMTP, SMS through an HTTP gateway, webhooks.

Each takes one outbox row and says what the receiver answered, or raises ``Undelivered`` with why (the
outbox tries again later). Each sends the row's ``reference`` along (the e-mail's Message-ID, the
gateway's Idempotency-Key), so a receiver that has had a message can tell a second attempt of it.
"""

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import requests

from ..core.outbox import Undelivered

TIMEOUT = 10  # seconds a send may take: within the outbox's lease


class EmailChannel:
    """SMTP with STARTTLS (unless switched off) and a login when a user is configured."""

    def __init__(self, config):
        self.host, self.port = config["POLKU_SMTP_HOST"], config["POLKU_SMTP_PORT"]
        self.starttls, self.sender = config["POLKU_SMTP_STARTTLS"], config["POLKU_MAIL_FROM"]
        self.user, self.password = config["POLKU_SMTP_USER"], config["POLKU_SMTP_PASSWORD"]

    def send(self, row) -> str:
        if not self.host:
            raise Undelivered("no SMTP server is configured (POLKU_SMTP_HOST)")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, row.recipient, row.subject or ""
        mail["Message-ID"], mail["Date"] = f"<{row.reference}@polku>", formatdate(localtime=False)
        mail.set_content(row.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise Undelivered(f"SMTP: {type(exc).__name__}: {exc}") from None
        if refused:
            raise Undelivered(f"SMTP refused the recipient: {refused}")
        return f"accepted by {self.host}:{self.port}"


class SmsChannel:
    """An HTTP SMS gateway: the configured URL, method, body template and credential."""

    def __init__(self, config):
        self.url, self.method = config["POLKU_SMS_URL"], config["POLKU_SMS_METHOD"].upper()
        self.template, self.credential = config["POLKU_SMS_BODY"], config["POLKU_SMS_CREDENTIAL"]

    def send(self, row) -> str:
        if not self.url:
            raise Undelivered("no SMS gateway is configured (POLKU_SMS_URL)")
        body = self.template.format(to=json.dumps(row.recipient), text=json.dumps(row.body, ensure_ascii=False),
                                    reference=json.dumps(row.reference))
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": row.reference}
        scheme, _, secret = self.credential.partition(":")
        auth = None
        if scheme == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif scheme == "basic":
            auth = tuple(secret.split(":", 1))
        try:
            answer = requests.request(self.method, self.url, data=body.encode(), headers=headers, auth=auth,
                                      timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise Undelivered(f"SMS gateway: {type(exc).__name__}: {exc}") from None
        if not answer.ok:
            raise Undelivered(f"SMS gateway answered {answer.status_code}: {answer.text[:200]}")
        return f"SMS gateway answered {answer.status_code}"


class WebhookChannel:
    """A subscribed system's URL: the CloudEvents document and its headers (the signature among them) as written."""

    def send(self, row) -> str:
        headers = {**(row.headers or {}), "Idempotency-Key": row.reference}
        try:
            answer = requests.post(row.recipient, data=row.body.encode(), headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise Undelivered(f"webhook: {type(exc).__name__}: {exc}") from None
        if not answer.ok:
            raise Undelivered(f"webhook answered {answer.status_code}: {answer.text[:200]}")
        return f"webhook answered {answer.status_code}"


def install(app) -> None:
    """The app's channels (``outbox.channels``), built from its configuration."""
    app.extensions["polku_channels"] = {"email": EmailChannel(app.config), "sms": SmsChannel(app.config),
                                        "webhook": WebhookChannel()}
