"""A worker for dynamodb-tracker's state machine, in Python: counts the words of the task's text.

The event is the claim's output (job_id, task_id, data, attempt, lease with its retry
and expires, work_timeout);
the returned dict replaces the task's data; an exception fails the attempt, with its class
name as the errorType. Lambda runtime python3.12, handler "handler.handler".
"""


class NoText(Exception):
    """The task has no text: errorType NoText, a failed attempt retried after its backoff."""


def handler(event, context):
    words = len(event["data"].get("text", "").split())
    if words == 0:
        raise NoText(f"task {event['task_id']} has no text")
    return {"task_id": event["task_id"], "attempt": event["attempt"], "words": words}
