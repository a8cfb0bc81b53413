"""Checks recorded CloudWatch PutMetricData requests against botocore's service model.

Reads a JSON list of {"target": X-Amz-Target header, "body": request body text}
on stdin; prints {"ok": bool, "problems": [...], "data": [decoded MetricData...]}.
Independent of the AWS SDK for JavaScript that sent them.
"""
import json
import sys

import botocore.session
from botocore.validate import ParamValidator

model = botocore.session.get_session().get_service_model("cloudwatch")
operation = model.operation_model("PutMetricData")
datum_shape = operation.input_shape.members["MetricData"].member
units = set(datum_shape.members["Unit"].enum)
problems = []
data = []
for request in json.load(sys.stdin):
    expected_target = f"{model.metadata['targetPrefix']}.PutMetricData"
    if request["target"] != expected_target:
        problems.append(f"X-Amz-Target {request['target']!r}, expected {expected_target!r}")
    body = json.loads(request["body"])
    report = ParamValidator().validate(body, operation.input_shape)
    if report.has_errors():
        problems.append(report.generate_report())
    for datum in body.get("MetricData", []):
        if datum.get("Unit") not in units:
            problems.append(f"unit {datum.get('Unit')!r} not one of CloudWatch's")
        data.append({"namespace": body.get("Namespace"), **datum})
print(json.dumps({"ok": not problems, "problems": problems, "data": data}))
