"""A Lambda runtime interface client for Python handlers, on the standard library alone.

The local stack runs it under the AWS Lambda Runtime Interface Emulator as Lambda's python
runtime runs awslambdaric (aws/aws-lambda-python-runtime-interface-client), and answers as it
does: it imports the handler that _HANDLER names (module.function) from LAMBDA_TASK_ROOT, then
takes invocations from the Runtime API at AWS_LAMBDA_RUNTIME_API one at a time, posting the
handler's result as JSON or its exception as {errorMessage, errorType, requestId, stackTrace}.
What it matches is cited where it does; nothing here is awslambdaric's code.
"""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

API = "/2018-06-01/runtime"


class Fault(Exception):
    """An error of the runtime's own, named as awslambdaric's FaultException names it
    (awslambdaric/lambda_runtime_exception.py): Runtime.ImportModuleError and the like."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def make_error(message, error_type, stack_trace, request_id=""):
    """The error payload, as awslambdaric's bootstrap.make_error builds it: these four keys."""
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id,
        "stackTrace": stack_trace if stack_trace else [],
    }


def error_of(exc, request_id=""):
    """The payload of an exception the handler raised: errorType is the class's __name__,
    errorMessage str(e), stackTrace traceback.format_list of its frames from the first one
    outside this file, as handle_event_request in awslambdaric/bootstrap.py drops its own
    (bootstrap.py) frames: '  File "/var/task/handler.py", line 18, in handler\\n    raise ...\\n'."""
    # (filename, lineno, name, line) tuples, as its extract_traceback makes them: formatted
    # from tuples, a frame has no column, so Python 3.11's ^^^ markers are left out as there.
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    for i, frame in enumerate(frames):
        if frame[0] != __file__:
            frames = frames[i:]
            break
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def log_error(error):
    """Logs an error as awslambdaric's text log_error does: '[ERROR] Type: message', then the
    traceback, one log line whose lines are joined with '\\r' (so it stays one event)."""
    lines = ["[ERROR] " + ": ".join(p for p in (error["errorType"], error["errorMessage"]) if p)]
    lines.append("Traceback (most recent call last):")
    for element in error["stackTrace"]:
        lines.extend(element.splitlines())
    sys.stdout.write("\r".join(lines) + "\n")


def get_handler(spec):
    """Imports the handler module.function as awslambdaric's bootstrap._get_handler does, and
    with its errors."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(spec, e))
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(module_name),
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise Fault(
            "Runtime.ImportModuleError",
            "Unable to import module '{}': {}".format(module_name, e),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '{}': {}".format(module_name, e),
            trace,
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound",
            "Handler '{}' missing on module '{}'".format(function_name, module_name),
        )


class Context:
    """The handler's context, with the attributes of awslambdaric's LambdaContext
    (awslambdaric/lambda_context.py); client_context and identity stay plain dicts."""

    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.client_context = json_header(headers, "Lambda-Runtime-Client-Context", "Client Context")
        self.identity = json_header(headers, "Lambda-Runtime-Cognito-Identity", "Cognito Identity")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def json_header(headers, name, what):
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except Exception as e:
        raise Fault(
            "Runtime.LambdaContextUnmarshalError",
            "Unable to parse {} JSON: {}".format(what, e),
        )


class RuntimeAPI:
    """The Runtime API at host:port, over one kept-alive connection."""

    def __init__(self, address):
        self.conn = http.client.HTTPConnection(address)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, API + path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        return response, response.read()

    def next(self):
        response, body = self.request("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeError("invocation/next answered {}: {!r}".format(response.status, body))
        return response.headers, body

    def post(self, path, body, error_type=None):
        headers = {"Content-Type": "application/json"}
        if error_type:
            # The Runtime API's optional Lambda-Runtime-Function-Error-Type, as the Node.js
            # client sends with its init errors (RAPIDClient.postInitError); the RIE only
            # records it, the caller sees the body.
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        response, answer = self.request("POST", path, body.encode("utf-8"), headers)
        if response.status != 202:
            raise RuntimeError("{} answered {}: {!r}".format(path, response.status, answer))


def to_json(value):
    """JSON as awslambdaric's marshaller writes it for python3.12 (ensure_ascii=False)."""
    return json.dumps(value, ensure_ascii=False)


def handle(api, handler, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    if headers.get("Lambda-Runtime-Trace-Id"):
        os.environ["_X_AMZN_TRACE_ID"] = headers["Lambda-Runtime-Trace-Id"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        context = Context(headers)
        try:
            event = json.loads(body)
        except Exception as e:
            raise Fault("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(e))
        result = handler(event, context)
        try:
            payload = to_json(result)
        except Exception as e:
            raise Fault("Runtime.MarshalError", "Unable to marshal response: {}".format(e))
    except Fault as f:
        error = make_error(f.message, f.error_type, f.trace, request_id)
    except Exception as e:
        error = error_of(e, request_id)
    else:
        api.post("/invocation/{}/response".format(request_id), payload)
        return
    log_error(error)
    api.post("/invocation/{}/error".format(request_id), to_json(error), error["errorType"])


def main():
    # Lambda's runtime does not buffer the function's output; neither do we.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    api = RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    try:
        handler = get_handler(os.environ["_HANDLER"])
    except Exception as e:
        if isinstance(e, Fault):
            error = make_error(e.message, e.error_type, e.trace)
        else:
            error = error_of(e)  # the module raised as it was imported
        log_error(error)
        api.post("/init/error", to_json(error), error["errorType"])
        sys.exit(1)
    while True:
        headers, body = api.next()
        handle(api, handler, headers, body)


if __name__ == "__main__":
    main()
