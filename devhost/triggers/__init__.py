"""Timer and storage-queue triggers and the queue output binding, as the Functions host runs them.

``schedules`` reads NCRONTAB and TimeSpan schedules; ``schedule_status`` keeps each timer's
last and next occurrence (the schedule monitor's record); ``timer`` fires timer functions on
the task hub's clock; ``queues`` is the queue service (Azure Storage, or in memory beside the
memory task hub); ``queue_listener`` polls a queue and runs its function; ``options`` reads
``host.json``'s ``extensions.queues``; ``functions`` indexes these bindings; ``invocation``
builds the arguments the Python worker would pass (``func.TimerRequest``,
``func.QueueMessage``, ``func.Out``); ``service`` starts and stops all of them for a host.
"""
