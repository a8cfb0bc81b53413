"""Recomputes the SigV4 signature of recorded requests with botocore (the AWS
SDK for Python's signer), independently of the JavaScript signer under test.

stdin: {"accessKeyId", "secretAccessKey", "sessionToken"?, "region", "service",
         "requests": [{"method", "path", "headers": [[name, value]...], "body": base64}]}
stdout: one JSON object per request: the signature found and the one botocore
computes over the headers the request says it signed, whether the
x-amz-content-sha256 header is the SHA-256 of the body, and the parsed
credential scope and signed headers.
"""
import base64
import hashlib
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$")

def main():
    spec = json.load(sys.stdin)
    credentials = Credentials(spec["accessKeyId"], spec["secretAccessKey"], spec.get("sessionToken"))
    out = []
    for recorded in spec["requests"]:
        headers = {}
        for name, value in recorded["headers"]:
            headers[name.lower()] = value
        body = base64.b64decode(recorded["body"])
        match = AUTH.match(headers.get("authorization", ""))
        if match is None:
            out.append({"path": recorded["path"], "error": "no SigV4 Authorization header"})
            continue
        scope, signed, found = match.group(1), match.group(2).split(";"), match.group(3)
        missing = [name for name in signed if name not in headers]
        if missing:
            out.append({"path": recorded["path"], "error": "signed headers missing from the request: " + ",".join(missing)})
            continue
        request = AWSRequest(
            method=recorded["method"],
            url="http://" + headers["host"] + recorded["path"],
            headers={name: headers[name] for name in signed},
            data=body,
        )
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(credentials, spec["service"], spec["region"])
        canonical = auth.canonical_request(request)
        string_to_sign = auth.string_to_sign(request, canonical)
        expected = auth.signature(string_to_sign, request)
        content_sha = headers.get("x-amz-content-sha256")
        out.append({
            "method": recorded["method"],
            "path": recorded["path"],
            "found": found,
            "expected": expected,
            "scope": scope,
            "signedHeaders": signed,
            "contentSha256Ok": content_sha == hashlib.sha256(body).hexdigest(),
        })
    json.dump(out, sys.stdout)

main()
