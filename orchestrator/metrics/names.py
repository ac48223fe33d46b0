"""The metrics Polku computes, by key: their unit, whether more is better (a pathway sets goals by key) and what
each means (the API's description of a key is made of ``MEANINGS``).

Every metric is for a period [start, end) and counts what began in it (a client started, a form asked, a
message sent, a view), with its outcome (answered, missed, replied, ended) as known when the figures are made:
now, or at the moment the caller gives; nothing recorded after that moment counts."""

UNITS = {
    "clients_started": "count", "clients_active": "count", "clients_ended": "count",
    "response_rate": "%", "answering_regularly": "%",
    "messages": "count", "replies": "count", "reply_median_hours": "h", "reply_p90_hours": "h",
    "within_promise": "%", "nps": "score", "ces": "score", "content_views": "count",
    "professional_tasks": "count", "handling_median_hours": "h",
    "reminders_sent": "count", "answered_after_reminder": "%",
}
LESS_IS_BETTER = {"reply_median_hours", "reply_p90_hours", "handling_median_hours"}
MEANINGS = {
    "clients_started": "clients who started the pathway in the period (basis: the same count)",
    "clients_active": "clients on the pathway at the end of the period (or at the moment known at, if earlier): "
                      "started before then and not ended before then",
    "clients_ended": "pathways that ended in the period: completed, withdrawn from or ended by the care team",
    "response_rate": "of the client's forms that are not diaries, asked in the period: answered ÷ (answered + "
                     "missed), each as known at the moment; a form still open then, or cancelled because the "
                     "pathway ended, does not count (basis: answered + missed)",
    "answering_regularly": "of the clients with at least one such form asked in the period and answered or missed, "
                           "the share who answered at least 80 % of theirs (basis: those clients)",
    "messages": "messages the clients sent in the period",
    "replies": "messages the care team sent in the period (basis: every message of the period)",
    "reply_median_hours": "of the clients' messages sent in the period and replied to by the moment, the median "
                          "time from the message to its reply, in hours (basis: the messages replied to)",
    "reply_p90_hours": "the same replies' 90th percentile (nearest rank), in hours",
    "within_promise": "of the clients' messages sent in the period whose reply-by time had passed, or that were "
                      "replied to, by the moment: the share replied to by their reply-by time (basis: those "
                      "messages)",
    "nps": "Net Promoter Score of the answers (0–10) to a question marked x-metric nps given in the period: "
           "per cent promoters (9–10) less per cent detractors (0–6), −100…100",
    "ces": "Customer Effort Score: the mean of the answers (1–7) to a question marked x-metric ces given in the "
           "period",
    "professional_tasks": "the care team's tasks completed in the period",
    "handling_median_hours": "the median time from a care team's task opening to its completion, of the tasks "
                             "completed in the period, in hours",
    "reminders_sent": "reminders a timer sent in the period (to a client or a care team)",
    "answered_after_reminder": "of the reminders sent in the period about a task, the share whose task was answered "
                               "after the reminder, by the moment (basis: reminders about a task)",
    "content_views": "views of the pathway's content pages in the period: one per person, page and day in the "
                     "service's zone, however often reloaded",
}
