"""Schemathesis hooks for scripts/spec/spec-conformance.

Rules that the LivePerson documents (or DESIGN.md's decisions) state, and the
specs state in prose only, are added here to the copy of the spec that
Schemathesis loads; `openapi/*.yaml` stays as published. Each rule only
narrows what a valid request is: positive tests then send only requests the
documents allow, and negative tests also send requests that break the rule
(which must get a 4xx). Nothing here relaxes a check.

Every rule names the schema it changes and fails loudly when that schema is
gone or has changed shape, so a spec edit cannot turn a rule off silently.
"""

import json
import os
import urllib.parse
import urllib.request

import schemathesis
from schemathesis.core.parameters import ParameterLocation

HOOK = "scripts/spec/conformance/hooks.py"

# 1. Property names (the keys of a v1 properties object, of a v2 `payload`):
# DESIGN.md, "names": any non-empty string; `.` and `..` cannot travel as a
# path segment (`.../properties/{property}`), so they are not names either.
# OpenAPI 3.0.3 has no `propertyNames` (and Schemathesis 4.32.5 does not
# generate from it); `patternProperties` with no other member allowed says
# the same: every key must match, any value.
PROPERTY_NAME_PATTERN = r"^(?!\.\.?$)[\s\S]+$"

# 2. Namespaces: "The following namespaces are reserved for internal use
# only: consumer, operational, conversation, faas, custom, sde" (Methods v2).
# The specs say so in their descriptions.
RESERVED_NAMESPACES = ["consumer", "operational", "conversation", "faas", "custom", "sde"]

# 3. Session ids and property names in a path, and session ids in a body
# (they name the same sessions): any non-empty text but `.` and `..`, which
# URL normalisation rewrites (DESIGN.md "names"; the SessionId schema's
# description says so).
DOT_SEGMENTS = [".", ".."]

# Rules 2 and 3 could be spelled with `not` in OpenAPI 3.0.3, but that keyword
# changes the code that client generators make from the specs; the specs keep
# them in prose, and only this test copy spells them out.

# 4. Messaging CONVERSATION: "The order of the payloads is important ...
# First, the payload with the type userprofile.SetUserProfile appears, second
# the payload with the type cm.ConsumerRequestConversation appears." The
# documents describe no other payload, and the emulator takes exactly this
# pair. OpenAPI 3.0.3 allows one `items` schema only, not a tuple.
MESSAGING_BATCH = {
    "prefixItems": [
        {"$ref": "#/components/schemas/SetUserProfileRequest"},
        {"$ref": "#/components/schemas/ConsumerRequestConversationRequest"},
    ],
    "maxItems": 2,
}


def _at(raw_schema, *path):
    node = raw_schema
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise RuntimeError(f"{HOOK}: the spec has no {'/'.join(path)}; update the hook")
        node = node[key]
    return node


def _free_form_object(raw_schema, name):
    schema = _at(raw_schema, "components", "schemas", name)
    if schema.get("type") != "object" or schema.get("additionalProperties") is not True:
        raise RuntimeError(f"{HOOK}: schema {name} is no longer a free-form object; update the hook")
    schema["patternProperties"] = {PROPERTY_NAME_PATTERN: {}}
    schema["additionalProperties"] = False


def _exclude(raw_schema, values, *path):
    schema = _at(raw_schema, *path)
    if schema.get("type") != "string" or "not" in schema:
        raise RuntimeError(f"{HOOK}: {'/'.join(path)} is no longer a plain string schema; update the hook")
    schema["not"] = {"enum": values}


def _ccs_v1(raw_schema):
    _free_form_object(raw_schema, "Properties")
    _exclude(raw_schema, RESERVED_NAMESPACES, "components", "schemas", "NamespaceName")
    _exclude(raw_schema, DOT_SEGMENTS, "components", "schemas", "SessionId")
    _exclude(raw_schema, DOT_SEGMENTS, "components", "schemas", "PropertyName")
    _exclude(raw_schema, DOT_SEGMENTS, "components", "schemas", "SetSessionTtlRequest", "properties", "sessionId")


def _ccs_v2(raw_schema):
    _free_form_object(raw_schema, "Payload")
    _exclude(raw_schema, RESERVED_NAMESPACES, "components", "schemas", "NamespaceName")
    _exclude(raw_schema, DOT_SEGMENTS, "components", "schemas", "SessionId")
    for request in ("UpsertDocumentRequest", "GetPropertiesRequest", "DeletePropertiesRequest"):
        _exclude(raw_schema, DOT_SEGMENTS, "components", "schemas", request, "properties", "sessionId")


def _messaging(raw_schema):
    batch = _at(raw_schema, "components", "schemas", "ConversationRequest")
    if batch.get("type") != "array" or batch.get("minItems") != 2 or "prefixItems" in batch:
        raise RuntimeError(f"{HOOK}: ConversationRequest is no longer an array of at least two; update the hook")
    batch.update(MESSAGING_BATCH)


# 5. SEND acts on a conversation CONVERSATION opened, for the same consumer;
# no operation of the spec hands Schemathesis such an id. This is test data,
# not a rule: one conversation is opened on `ccs serve` (at
# CONFORMANCE_EMULATOR_URL, with this run's AppJWT and ConsumerJWS) and its
# id is the only `dialogId` / `conversationId` generated. Positive cases then
# publish to it (200), and once one closes it, get the documented 409.
def _open_conversation():
    base = os.environ.get("CONFORMANCE_EMULATOR_URL")
    if not base:
        raise RuntimeError(f"{HOOK}: CONFORMANCE_EMULATOR_URL is not set")
    body = json.dumps([
        {"kind": "req", "id": "1", "type": "userprofile.SetUserProfile", "body": {}},
        {"kind": "req", "id": "2", "type": "cm.ConsumerRequestConversation",
         "body": {"brandId": "le12345678"}},
    ]).encode()
    request = urllib.request.Request(
        base + "/api/account/le12345678/messaging/consumer/conversation?v=3",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": os.environ["CONFORMANCE_APP_JWT"],
            "X-LP-ON-BEHALF": os.environ["CONFORMANCE_CONSUMER_JWS"],
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)[1]["body"]["conversationId"]


def _messaging_send(raw_schema):
    conversation = _open_conversation()
    for schema, member in (("PublishEventBody", "dialogId"), ("UpdateConversationFieldBody", "conversationId")):
        node = _at(raw_schema, "components", "schemas", schema, "properties", member)
        if node.get("type") != "string" or "enum" in node:
            raise RuntimeError(f"{HOOK}: {schema}.{member} is no longer a plain string; update the hook")
        node["enum"] = [conversation]


# 5b. File sharing: a `hosted/file` message and `ms.GenerateURLForDownloadFile`
# name a file uploaded before; no operation hands Schemathesis such a path
# (the upload URL's answer is a SEND answer, its PUT needs that answer's
# signature). Test data as in 5: one file is uploaded to `ccs serve` and its
# path is the only `relativePath` generated. And a rule: the pages write
# `fileSize` as a string of digits (at most 3 MB); the spec cannot spell
# digits without a `pattern`, which the Rust generator would turn into a
# regex dependency, so only this copy spells it.
FILE_SIZE_DIGITS = r"^[1-9][0-9]{0,5}$"


UPLOADED = []


def _file_url(payload):
    """The body of a SEND answer to a temporary URL payload, from `ccs serve`."""
    request = urllib.request.Request(
        os.environ["CONFORMANCE_EMULATOR_URL"]
        + "/api/account/le12345678/messaging/consumer/conversation/send?v=3",
        data=json.dumps({"kind": "req", "id": "1", **payload}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": os.environ["CONFORMANCE_APP_JWT"],
            "X-LP-ON-BEHALF": os.environ["CONFORMANCE_CONSUMER_JWS"],
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["body"]


def _upload_url():
    return _file_url({"type": "ms.GenerateURLForUploadFile",
                      "body": {"fileSize": 6, "fileType": "GIF"}})


def _upload_file():
    base = os.environ["CONFORMANCE_EMULATOR_URL"]
    url = _upload_url()
    query = urllib.parse.urlencode(url["queryParams"])
    put = urllib.request.Request(
        f"{base}{url['relativePath']}?{query}", data=b"GIF89a", method="PUT",
        headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(put, timeout=30):
        pass
    UPLOADED.append(url["relativePath"])
    return url["relativePath"]


def _messaging_files(raw_schema):
    uploaded = _upload_file()
    # The requests only: an answer's relativePath is any new path.
    for schema in ("GenerateDownloadUrlBody", "HostedFile"):
        node = _at(raw_schema, "components", "schemas", schema, "properties", "relativePath")
        if node != {"$ref": "#/components/schemas/RelativePath"}:
            raise RuntimeError(f"{HOOK}: {schema}.relativePath is no longer a RelativePath; update the hook")
        node.clear()
        node.update({"type": "string", "enum": [uploaded]})
    size = _at(raw_schema, "components", "schemas", "FileSize")
    strings = [s for s in size.get("oneOf", []) if s.get("type") == "string"]
    if len(strings) != 1 or "pattern" in strings[0]:
        raise RuntimeError(f"{HOOK}: FileSize no longer has one string form; update the hook")
    strings[0]["pattern"] = FILE_SIZE_DIGITS
    # The upload's body: at least one byte (the spec says so in prose;
    # progenitor takes no `minLength` on a binary body).
    body = _at(raw_schema, "paths", SWIFT_PATH, "put", "requestBody", "content",
               "application/octet-stream", "schema")
    if body != {"type": "string", "format": "binary"}:
        raise RuntimeError(f"{HOOK}: the upload body is no longer plain binary; update the hook")
    body["minLength"] = 1


# 6. The Domain API's single-service form: only the services `ccs serve`
# names exist (others are 404, the spec's documented choice). Test data as
# in 5: the generated `serviceName` is one of them.
EMULATED_SERVICES = [
    "asyncMessagingEnt",
    "sentinel",
    "idp",
    "mavenContext",
    "accountConfigReadOnly",
    "accountConfigReadWrite",
    "agentVep",
    "facadeMsg",
    "msgHist",
    "swift",
]


def _domain(raw_schema):
    node = _at(raw_schema, "components", "schemas", "ServiceName")
    if node.get("type") != "string" or "enum" in node:
        raise RuntimeError(f"{HOOK}: ServiceName is no longer a plain string; update the hook")
    node["enum"] = EMULATED_SERVICES


# 7. Sentinel's client credentials and the IDP's external consumer id are
# non-empty (OAuth 2.0 requires the credentials; an empty consumer id names
# no one): the descriptions in connector-auth.yaml say so.
#
# 7b. `get_app_jwt` takes each of `grant_type`, `client_id` and
# `client_secret` in the form or in the query, one of the two required: a
# rule its description states and OpenAPI 3.0.3 cannot. The test copy keeps
# one documented form, the "Get AppJWT" page's: `grant_type` in the query
# (required), the credentials in the form (required), so that a negative
# case that drops one cannot be rescued by the other place. The other forms
# are tested in tests/it/connector_forms.rs.
def _connector_auth(raw_schema):
    for path in (
        ("components", "schemas", "AppJwtRequest", "properties", "client_id"),
        ("components", "schemas", "AppJwtRequestV2", "properties", "client_id"),
        ("components", "schemas", "ClientSecret"),
        ("components", "schemas", "ConsumerJwsRequest", "properties", "ext_consumer_id"),
    ):
        node = _at(raw_schema, *path)
        if node.get("type") != "string" or "minLength" in node:
            raise RuntimeError(f"{HOOK}: {'/'.join(path)} is no longer a plain string; update the hook")
        node["minLength"] = 1
    operation = _at(raw_schema, "paths", "/sentinel/api/account/{accountId}/app/token", "post")
    names = [p.get("$ref", "").rsplit("/", 1)[-1] or p.get("name") for p in operation["parameters"]]
    if names != ["v", "GrantTypeQuery", "ClientIdQuery", "ClientSecretQuery"]:
        raise RuntimeError(f"{HOOK}: get_app_jwt's parameters changed ({names}); update the hook")
    operation["parameters"] = [
        operation["parameters"][0],
        dict(_at(raw_schema, "components", "parameters", "GrantTypeQuery"), required=True),
    ]
    operation["requestBody"]["required"] = True
    form = _at(raw_schema, "components", "schemas", "AppJwtRequest")
    if "required" in form or "grant_type" not in form.get("properties", {}):
        raise RuntimeError(f"{HOOK}: AppJwtRequest changed shape; update the hook")
    del form["properties"]["grant_type"]
    form["required"] = ["client_id", "client_secret"]


# 8. emulator-admin: the conversation routes (GET a conversation, the agent's
# actions) act on a conversation CONVERSATION opened; no operation of the spec
# hands Schemathesis one, and `reset_emulator` (also under test) forgets
# every conversation. Test data as in 5, made per call: before each call of
# these routes whose path parameter is valid (a case whose path is the
# negative part keeps its generated id, and gets the documented 404), the
# active faults are cleared (a `drop` fault on `/*` would hit this setup) and
# a conversation is opened on the admin emulator (CONFORMANCE_ADMIN_URL,
# which takes any token) and readied for the action: it is opened with
# `Client-Properties` declaring RICH_CONTENT and QUICK_REPLIES (without them
# `rich-content` is a 409, as the spec says), an agent accepts it first for
# `text`, `rich-content`, `file`, `chat-state` and `read`, and sends a text
# for `read`, whose `sequences` are narrowed to that text's sequence number,
# 0 (a read receipt of an event never published is a 400, as the spec says).
# A file's `content` is narrowed to the spec's example (valid base64 whatever
# the generator makes of `format: byte`); its `preview` is printable ASCII
# in the spec, so its maxLength in characters is its limit in bytes. The
# structured content's `content` and `quickReplies` are narrowed to the
# spec's examples: the spec says "an object" and points at messaging.yaml's
# schema, which the emulator checks. Its id replaces the generated one.
CONVERSATION_PATHS = "/__emulator/conversations/{conversationId}"
AGENT_FIRST = {"text", "rich-content", "file", "chat-state", "read"}
CLIENT_PROPERTIES = '{"type":".ClientProperties","features":["RICH_CONTENT","QUICK_REPLIES"]}'


def _admin_request(base, method, path, body=None, headers=None):
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        data = answer.read()
        return json.loads(data) if data else None


def _readied_conversation(action):
    base = os.environ.get("CONFORMANCE_ADMIN_URL")
    if not base:
        raise RuntimeError(f"{HOOK}: CONFORMANCE_ADMIN_URL is not set")
    _admin_request(base, "DELETE", "/__emulator/faults")
    opened = _admin_request(
        base, "POST",
        "/api/account/le12345678/messaging/consumer/conversation?v=3",
        [
            {"kind": "req", "id": "1", "type": "userprofile.SetUserProfile", "body": {}},
            {"kind": "req", "id": "2", "type": "cm.ConsumerRequestConversation",
             "body": {"brandId": "le12345678"}},
        ],
        {"Authorization": "conformance", "X-LP-ON-BEHALF": "conformance",
         "Client-Properties": CLIENT_PROPERTIES},
    )
    conversation = opened[1]["body"]["conversationId"]
    agent = f"/__emulator/conversations/{conversation}/agent/"
    if action in AGENT_FIRST:
        _admin_request(base, "POST", agent + "accept", {})
    if action == "read":
        _admin_request(base, "POST", agent + "text", {"text": "to be read"})
    return conversation


def _emulator_admin(raw_schema):
    paths = [p for p in raw_schema.get("paths", {}) if p.startswith(CONVERSATION_PATHS)]
    if len(paths) != 9:
        raise RuntimeError(f"{HOOK}: expected 9 conversation paths, found {len(paths)}; update the hook")
    file_body = _at(raw_schema, "components", "schemas", "AgentFileBody", "properties")
    content, preview = file_body.get("content", {}), file_body.get("preview", {})
    if content.get("type") != "string" or "example" not in content or "pattern" not in preview:
        raise RuntimeError(f"{HOOK}: AgentFileBody changed; update the hook")
    content["enum"] = [content["example"]]
    rich = _at(raw_schema, "components", "schemas", "AgentRichContentBody", "properties")
    for name in ("content", "quickReplies"):
        member = rich.get(name, {})
        if member.get("type") != "object" or "example" not in member:
            raise RuntimeError(f"{HOOK}: AgentRichContentBody.{name} changed; update the hook")
        member["enum"] = [member["example"]]
    items = _at(raw_schema, "components", "schemas", "AgentReadBody", "properties", "sequences", "items")
    if items.get("type") != "integer" or "enum" in items:
        raise RuntimeError(f"{HOOK}: AgentReadBody.sequences items are no longer plain integers; update the hook")
    items["enum"] = [0]


# 5c. The swift host's PUT and GET are signed by a temporary URL valid one
# minute, for one path and method: test data as in 5, each case not
# negative in its path or query gets a fresh signature from `ccs serve` (an
# upload URL for a PUT, a download URL of the file of 5b for a GET).
SWIFT_PATH = "/v1/AUTH_async-images/{accountId}/{fileName}"


def _signed_swift_call(case):
    meta = case.meta
    if meta is not None and (meta.is_negative_at(ParameterLocation.PATH)
                             or meta.is_negative_at(ParameterLocation.QUERY)):
        return
    if case.method.upper() == "PUT":
        url = _upload_url()
    else:
        url = _file_url({"type": "ms.GenerateURLForDownloadFile",
                         "body": {"relativePath": UPLOADED[-1]}})
    account, name = url["relativePath"].rsplit("/", 2)[-2:]
    case.path_parameters.update({"accountId": account, "fileName": name})
    case.query = dict(url["queryParams"])


@schemathesis.hook
def before_call(context, case, **kwargs):
    path = case.operation.path
    if path == SWIFT_PATH:
        _signed_swift_call(case)
        return
    if not path.startswith(CONVERSATION_PATHS):
        return
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
        return
    action = path.rsplit("/agent/", 1)[1] if "/agent/" in path else None
    case.path_parameters["conversationId"] = _readied_conversation(action)


# Each spec is known by its set of security scheme names.
RULES = {
    frozenset({"mavenApiKey"}): _ccs_v1,
    frozenset({"accessToken"}): _ccs_v2,
    frozenset({"appJwt", "consumerJws"}): lambda s: (_messaging(s), _messaging_send(s), _messaging_files(s)),
    frozenset({"appJwt"}): _connector_auth,
    frozenset(): _domain,
}


@schemathesis.hook
def before_load_schema(context, raw_schema):
    # openapi/emulator-admin.yaml (no credentials): the emulator's own
    # routes, stated fully by the spec but for the test data of rule 8.
    if "/__emulator/reset" in raw_schema.get("paths", {}):
        if raw_schema.get("components", {}).get("securitySchemes"):
            raise RuntimeError(f"{HOOK}: emulator-admin.yaml has credentials now; update the hook")
        _emulator_admin(raw_schema)
        return
    schemes = frozenset(raw_schema.get("components", {}).get("securitySchemes", {}))
    rule = RULES.get(schemes)
    if rule is None:
        title = raw_schema.get("info", {}).get("title", "")
        raise RuntimeError(f"{HOOK}: cannot tell which spec {title!r} is; update the hook")
    rule(raw_schema)
