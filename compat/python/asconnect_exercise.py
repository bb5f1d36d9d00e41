"""asconnect (Microsoft's App Store Connect client for Python) against altdist serve.

asconnect has no alternative distribution operations, and its resource clients build URLs on
https://api.appstoreconnect.apple.com. Its public HttpClient (Client.http_client) takes a full
`url=` on get/post/delete, and signs those requests with the same token, so that is the path
used here. Apps are deserialized into asconnect's own App model; keys and domains, for which it
has no model, as plain JSON.
"""

import base64
import json
import os
import sys
import time

import asconnect
from asconnect.httpclient import AppStoreConnectError
from asconnect.models import App

BASE = os.environ["ASC_BASE_URL"]
APP_ID = os.environ["ASC_APP_ID"]
BUNDLE_ID = os.environ["ASC_BUNDLE_ID"]
DOMAIN = os.environ["COMPAT_DOMAIN"]
with open(os.environ["COMPAT_PUBLIC_KEY"], encoding="utf-8") as f:
    PUBLIC_KEY = f.read()
with open(os.environ["COMPAT_PUBLIC_KEY_2"], encoding="utf-8") as f:
    PUBLIC_KEY_2 = f.read()
with open(os.environ["ASC_PRIVATE_KEY_PATH"], encoding="utf-8") as f:
    client = asconnect.Client(
        key_id=os.environ["ASC_KEY_ID"], key_contents=f.read(), issuer_id=os.environ["ASC_ISSUER_ID"]
    )
http = client.http_client

failed = 0
state = {}


def step(name):
    """Runs the decorated function at once as one step: `ok` unless it raises."""

    def run(fn):
        global failed
        try:
            fn()
            print(f"ok {name}", flush=True)
        except Exception as e:  # pylint: disable=broad-except
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {describe(e)}", flush=True)

    return run


def describe(e):
    if isinstance(e, AppStoreConnectError):
        return f"HTTP {e.response.status_code} {e.response.text}"
    return str(e)


def check(cond, why):
    if not cond:
        raise AssertionError(why)


def url(path):
    return f"{BASE}{path}"


def expect_error(status, fn):
    """Runs fn, which must fail with `status`; returns the error document."""
    try:
        result = fn()
    except AppStoreConnectError as e:
        check(e.response.status_code == status, f"HTTP {e.response.status_code}, expected {status}: {e.response.text}")
        return e.response.json()
    raise AssertionError(f"expected HTTP {status}, got success: {result}")


def key_body(public_key):
    return {
        "data": {
            "type": "alternativeDistributionKeys",
            "attributes": {"publicKey": public_key},
            "relationships": {"app": {"data": {"type": "apps", "id": APP_ID}}},
        }
    }


@step("create key")
def _():
    data = http.post(url=url("/v1/alternativeDistributionKeys"), data=key_body(PUBLIC_KEY), data_type=dict)
    state["key"] = data["id"]
    check(data["attributes"]["publicKey"] == PUBLIC_KEY, "publicKey differs from the PEM openssl printed")


@step("list keys")
def _():
    keys = list(http.get(url=url("/v1/alternativeDistributionKeys"), data_type=list[dict]))
    check(any(k["id"] == state["key"] for k in keys), f"key {state['key']} not listed")


@step("read key")
def _():
    (key,) = http.get(url=url(f"/v1/alternativeDistributionKeys/{state['key']}"), data_type=dict)
    check(key["id"] == state["key"] and key["attributes"]["publicKey"] == PUBLIC_KEY, f"wrong key {key}")


@step("read app key")
def _():
    (key,) = http.get(url=url(f"/v1/apps/{APP_ID}/alternativeDistributionKey"), data_type=dict)
    check(key["id"] == state["key"], f"app key is {key['id']}, expected {state['key']}")


@step("read app key relationship")
def _():
    (linkage,) = http.get(url=url(f"/v1/apps/{APP_ID}/relationships/alternativeDistributionKey"), data_type=dict)
    check(linkage == {"type": "alternativeDistributionKeys", "id": state["key"]}, f"linkage {linkage}")


@step("list apps filter[id]")
def _():
    apps = list(http.get(url=url(f"/v1/apps?filter[id]={APP_ID}"), data_type=list[App]))
    check([a.identifier for a in apps] == [APP_ID], f"got {[a.identifier for a in apps]}")


@step("read app")
def _():
    (app,) = http.get(url=url(f"/v1/apps/{APP_ID}"), data_type=App)
    check(app.bundle_id == BUNDLE_ID, f"bundleId {app.bundle_id}")


@step("add domain")
def _():
    body = {"data": {"type": "alternativeDistributionDomains", "attributes": {"domain": DOMAIN, "referenceName": "compat"}}}
    data = http.post(url=url("/v1/alternativeDistributionDomains"), data=body, data_type=dict)
    state["domain"] = data["id"]
    check(data["attributes"]["domain"] == DOMAIN, f"domain {data['attributes']['domain']}")


@step("list domains")
def _():
    domains = list(http.get(url=url("/v1/alternativeDistributionDomains"), data_type=list[dict]))
    check(any(d["id"] == state["domain"] for d in domains), f"domain {state['domain']} not listed")


@step("delete domain")
def _():
    response = http.delete(url=url(f"/v1/alternativeDistributionDomains/{state['domain']}"))
    check(response.status_code == 204, f"HTTP {response.status_code} {response.text}")


@step("second key for the app is 409")
def _():
    body = expect_error(409, lambda: http.post(url=url("/v1/alternativeDistributionKeys"), data=key_body(PUBLIC_KEY_2)))
    check(body["errors"][0]["code"].startswith("ENTITY_ERROR"), f"code {body['errors'][0]['code']}")


@step("delete key")
def _():
    response = http.delete(url=url(f"/v1/alternativeDistributionKeys/{state['key']}"))
    check(response.status_code == 204, f"HTTP {response.status_code} {response.text}")


@step("read deleted key is 404")
def _():
    body = expect_error(404, lambda: list(http.get(url=url(f"/v1/alternativeDistributionKeys/{state['key']}"), data_type=dict)))
    check(body["errors"][0]["code"] == "NOT_FOUND", f"code {body['errors'][0]['code']}")


# generate_token() is asconnect's public accessor for the (cached) token it sent above.
def decode(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


header, claims = (decode(p) for p in http.generate_token().split(".")[:2])
lifetime = claims["exp"] - claims.get("iat", int(time.time()))
print(f"token header {json.dumps(header)} claims {json.dumps(claims)} (lifetime ~{lifetime}s)")
sys.exit(1 if failed else 0)
