"""The step core: the one write path, the step transaction, stored state and projected rows.

``steps`` is the only code that changes instance state; ``store`` loads and saves it; ``projection``
turns each step into HumanTask, Timer and Notification rows that ``queries`` read; ``firing`` and
``scheduler`` fire due timers; ``notify`` delivers notifications; ``database`` holds the write path
every writer uses. ``_compiled`` runs a step's statements on the driver's cursor and is private here.
"""
