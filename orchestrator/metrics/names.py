"""The metrics Polku computes, by key: their unit and whether more is better (a pathway sets goals by key)."""

UNITS = {
    "clients_started": "count", "clients_active": "count", "clients_ended": "count",
    "response_rate": "%", "answering_regularly": "%",
    "messages": "count", "replies": "count", "reply_median_hours": "h", "reply_p90_hours": "h",
    "within_promise": "%", "nps": "score", "ces": "score", "content_views": "count",
    "professional_tasks": "count", "handling_median_hours": "h",
    "reminders_sent": "count", "answered_after_reminder": "%",
}
LESS_IS_BETTER = {"reply_median_hours", "reply_p90_hours", "handling_median_hours"}
