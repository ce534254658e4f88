"""Calls a Python handler as the Lambda Python runtime (awslambdaric) does, for the
fingerprint tests, and prints what the runtime reports of an exception.

Usage: python3 bootstrap.py DIR < event.json, where DIR holds handler.py. On success it
prints {"output": result}; on an exception, the error the runtime posts: errorType (the
class's name), errorMessage (str of the exception) and stackTrace, built as awslambdaric's
build_fault_result builds it: traceback.format_list of the traceback's frames, the leading
frames of files named bootstrap.py (the runtime's own) cut.
"""

import importlib
import json
import sys
import traceback

sys.path.insert(0, sys.argv[1])
handler = importlib.import_module("handler")
event = json.load(sys.stdin)
try:
    print(json.dumps({"output": handler.handler(event, None)}))
except Exception as e:
    tb = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(e.__traceback__)]
    for i in range(len(tb)):
        if "/bootstrap.py" not in tb[i][0]:
            tb = tb[i:]
            break
    print(json.dumps({"errorType": type(e).__name__, "errorMessage": str(e), "stackTrace": traceback.format_list(tb)}))
