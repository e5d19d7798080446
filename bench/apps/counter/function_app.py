"""The entity benchmark's app: one function-based counter entity whose work costs nothing.

Each ``add`` adds its input to the state, so what the benchmark times is the host: the
entity's batches through the SDK's ``Entity`` handle and the task hub between them.
"""

import azure.durable_functions as df

app = df.DFApp()

COUNTER = "Counter"
ADD = "add"


@app.entity_trigger(context_name="context", entity_name=COUNTER)
def counter(context: df.DurableEntityContext) -> None:
    """Add the operation's input to the state (an integer, 0 at first)."""
    if context.operation_name == ADD:
        context.set_state(context.get_state(lambda: 0) + context.get_input())
