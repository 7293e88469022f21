#!/usr/bin/env python3
"""The smoke scenario, through the Python clients openapi-python-client made
from the specs, against a running `ccs serve`.

    smoke.py BASE_URL CLIENTS_DIR ECHO_URL

CLIENTS_DIR holds the generated packages ccs_v1_client, ccs_v2_client,
messaging_client, emulator_admin_client, domain_client,
connector_auth_client and connector_webhooks_client (its models only: the
webhook bodies; scripts/spec/spec-smoke generates them). The scenario uses
the emulator as a test double the way a test suite would: it resets it first,
injects a 429 that the v1 read retries after its Retry-After, and asserts on
the journal of what was sent. `connector_flow` then runs the whole connector
flow with the hosts the Domain API names, a shared file included (upload
URL, PUT to the `swift` host, `hosted/file`, download). `webhook_flow` last hears the
answer: ECHO_URL is a second `ccs serve`, started with `--agent echo` and the
app credentials `smoke-client-id` / `smoke-client-secret`; a webhook receiver
on the standard library (http.server in a thread) is registered there, a
consumer text goes in through the connector flow, and the echo agent's reply
comes back as a webhook whose signature is checked with hmac + hashlib +
base64, and whose body is parsed with the models generated from
openapi/connector-webhooks.yaml too. Each step prints one line; any answer that differs from the one
expected is a `MISMATCH` line, and the exit code is 1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

BASE_URL, CLIENTS_DIR, ECHO_URL = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, CLIENTS_DIR)

# The clients are importable only once CLIENTS_DIR is on the path.
import ccs_v1_client
import ccs_v2_client
import emulator_admin_client
import connector_auth_client
import domain_client
import messaging_client
from ccs_v1_client.api.namespaces import create_namespace, list_namespaces
from ccs_v1_client.api.session_properties import (
    get_session_properties,
    get_session_property,
    set_session_properties,
    set_session_property,
)
from ccs_v1_client.models import CreateNamespaceRequest, ErrorMessage, Properties
from ccs_v2_client.api.documents import get_document_properties, get_session_document, upsert_document
from ccs_v2_client.models import GetPropertiesRequest, Payload, UpsertDocumentRequest
from emulator_admin_client.api.faults import inject_fault, list_faults
from emulator_admin_client.api.agent import get_conversation
from emulator_admin_client.api.journal import list_requests
from emulator_admin_client.api.webhooks import get_webhooks, put_webhooks
from emulator_admin_client.api.reset import reset_emulator
from emulator_admin_client.models import Conversation, FaultMethod, StatusFault, WebhookRegistrations
from connector_auth_client.api.tokens import get_app_jwt, get_consumer_jws
from connector_auth_client.models import (
    AppJwtRequest,
    AppJwtResponse,
    ConsumerJwsRequest,
    ConsumerJwsResponse,
    GetAppJwtGrantType,
    GetAppJwtV,
    GetConsumerJwsV,
    OAuthError,
    OAuthErrorError,
)
from connector_auth_client.models import ErrorMessage as AuthErrorMessage
from connector_webhooks_client.models import ContentEvent as WebhookContentEvent
from connector_webhooks_client.models import ExConversationChangeNotification, MessagingEventNotification
from domain_client.api.domains import get_service_domain, list_service_domains
from domain_client.models import ErrorMessage as DomainErrorMessage
from domain_client.models import (
    GetServiceDomainVersion,
    ListServiceDomainsVersion,
    ServiceDomain,
    ServiceDomainList,
)
from messaging_client.api.conversation import create_conversation
from messaging_client.api.files import download_file, upload_file
from messaging_client.types import File
from messaging_client.api.send import send_to_conversation
from messaging_client.models import (
    AcceptStatus,
    AcceptStatusEvent,
    AcceptStatusEventType,
    AuthenticatedData,
    CampaignInfo,
    ChatState,
    ChatStateEvent,
    ChatStateEventType,
    ConnectorError,
    ConsumerRequestConversationBody,
    ConsumerRequestConversationRequest,
    ConsumerRequestConversationRequestType,
    ContentEvent,
    ContentEventContentType,
    ContentEventType,
    ButtonElement,
    ButtonElementType,
    ConversationStateField,
    ConversationStateFieldConversationState,
    ConversationStateFieldField,
    DialogChangeField,
    DialogChangeFieldField,
    DialogChangeFieldType,
    DialogUpdate,
    DialogUpdateState,
    ElementClick,
    ElementStyle,
    ImageElement,
    ImageElementType,
    LayoutElement,
    LayoutElementType,
    LinkAction,
    LinkActionType,
    PublishTextAction,
    PublishTextActionType,
    QuickReplies,
    QuickRepliesType,
    RichContentEvent,
    RichContentEventType,
    TextElement,
    TextElementType,
    CreateConversationV,
    CustomerInfo,
    CustomerInfoSde,
    CustomerInfoSdeType,
    FileType,
    GenerateDownloadUrlBody,
    GenerateDownloadUrlRequest,
    GenerateDownloadUrlRequestType,
    GenerateUploadUrlBody,
    GenerateUploadUrlRequest,
    GenerateUploadUrlRequestType,
    HostedFile,
    HostedFileEvent,
    HostedFileEventContentType,
    HostedFileEventType,
    PersonalInfo,
    PersonalInfoGender,
    PersonalInfoSde,
    PersonalInfoSdeType,
    PublishEventBody,
    PublishEventRequest,
    PublishEventRequestType,
    RequestKind,
    SendResponse,
    SendToConversationV,
    SetUserProfileBody,
    SetUserProfileRequest,
    SetUserProfileRequestType,
    UpdateConversationFieldBody,
    UpdateConversationFieldRequest,
    UpdateConversationFieldRequestType,
)

ACCOUNT = "le12345678"
NAMESPACE = "smoke_python"
SESSION = "conversation 42/é"  # percent-encoded on the wire
V2_SESSION = "v2-session"

mismatches = 0


def check(step: str, got: Any, want: Any) -> None:
    global mismatches
    if got == want:
        print(f"python: ok   {step}: {got!r}")
    else:
        mismatches += 1
        print(f"python: MISMATCH {step}: got {got!r}, want {want!r}")


# SEND payloads the scenarios share.
def text_event(message: str) -> ContentEvent:
    return ContentEvent(
        type_=ContentEventType.CONTENTEVENT,
        content_type=ContentEventContentType.TEXTPLAIN,
        message=message,
    )


def publish_request(req_id: str, dialog_id: str, event: Any) -> PublishEventRequest:
    return PublishEventRequest(
        kind=RequestKind.REQ,
        id=req_id,
        type_=PublishEventRequestType.MS_PUBLISHEVENT,
        body=PublishEventBody(dialog_id=dialog_id, event=event),
    )


def close_request(req_id: str, conversation: str) -> UpdateConversationFieldRequest:
    """The Connector API's close: `ConversationStateField` `CLOSE`."""
    return UpdateConversationFieldRequest(
        kind=RequestKind.REQ,
        id=req_id,
        type_=UpdateConversationFieldRequestType.CM_UPDATECONVERSATIONFIELD,
        body=UpdateConversationFieldBody(
            conversation_id=conversation,
            conversation_field=ConversationStateField(
                field=ConversationStateFieldField.CONVERSATIONSTATEFIELD,
                conversation_state=ConversationStateFieldConversationState.CLOSE,
            ),
        ),
    )


# The emulator's admin routes need no credentials. Start clean, as a test would.
admin = emulator_admin_client.Client(base_url=BASE_URL)
r = reset_emulator.sync_detailed(client=admin)
check("admin reset_emulator -> status", r.status_code, 204)
r = list_requests.sync_detailed(client=admin)
check("admin list_requests after the reset -> empty", (r.status_code, r.parsed), (200, []))

# CCS v1: the developer key in the `maven-api-key` header.
v1 = ccs_v1_client.AuthenticatedClient(
    base_url=BASE_URL, token="smoke-key", prefix="", auth_header_name="maven-api-key"
)
r = create_namespace.sync_detailed(ACCOUNT, client=v1, body=CreateNamespaceRequest(name=NAMESPACE))
check("v1 create_namespace -> status", r.status_code, 204)
r = list_namespaces.sync_detailed(ACCOUNT, client=v1)
check("v1 list_namespaces -> status", r.status_code, 200)
check("v1 list_namespaces -> has the namespace", [n.name for n in r.parsed or [] if n.name == NAMESPACE], [NAMESPACE])

written = {"intent": {"name": "billing", "confidence": 0.92}, "tier": "gold", "orders": [1, 2, 3]}
r = set_session_properties.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=v1, body=Properties.from_dict(written))
check("v1 set_session_properties -> status", r.status_code, 204)
r = set_session_property.sync_detailed(ACCOUNT, NAMESPACE, SESSION, "agentNote", client=v1, body="call back at 5")
check("v1 set_session_property agentNote -> status", r.status_code, 204)
r = get_session_properties.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=v1)
check("v1 get_session_properties -> status", r.status_code, 200)
props = r.parsed.additional_properties if isinstance(r.parsed, Properties) else r.parsed
check("v1 get_session_properties -> properties", props, {**written, "agentNote": "call back at 5"})
r = get_session_properties.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=v1, include="tier,nope")
check("v1 get_session_properties include=tier,nope", r.parsed.additional_properties, {"tier": "gold"})
r = get_session_property.sync_detailed(ACCOUNT, NAMESPACE, SESSION, "intent", client=v1)
check("v1 get_session_property intent", (r.status_code, r.parsed), (200, written["intent"]))
r = get_session_property.sync_detailed(ACCOUNT, NAMESPACE, SESSION, "missing", client=v1)
check("v1 get_session_property missing -> status", r.status_code, 404)
check("v1 get_session_property missing -> error body", isinstance(r.parsed, ErrorMessage), True)
no_key = ccs_v1_client.Client(base_url=BASE_URL)
r = get_session_properties.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=no_key)
check("v1 without maven-api-key -> status", r.status_code, 401)

# CCS v2: the access token as the `access_token` query parameter.
v2 = ccs_v2_client.Client(base_url=BASE_URL, httpx_args={"params": {"access_token": "smoke-token"}})


def upsert(payload: dict[str, Any]) -> Any:
    return upsert_document.sync_detailed(
        client=v2,
        body=UpsertDocumentRequest(
            account_id=ACCOUNT,
            name_space=NAMESPACE,
            session_id=V2_SESSION,
            ttl_seconds=3600,
            payload=Payload.from_dict(payload),
        ),
    )


r = upsert({"property1": 100, "Property2": "abc"})
check("v2 upsert_document -> status", r.status_code, 201)
check(
    "v2 upsert_document -> result",
    (r.parsed.document_key, r.parsed.tenant_id, r.parsed.success),
    (f"{ACCOUNT}:{NAMESPACE}:{V2_SESSION}", ACCOUNT, True),
)
r = upsert({"property1": 101, "property3": [True, None]})
check("v2 upsert_document again (merge) -> status", r.status_code, 201)
before = datetime.now(UTC)
r = get_session_document.sync_detailed(ACCOUNT, NAMESPACE, V2_SESSION, client=v2)
check("v2 get_session_document -> status", r.status_code, 200)
doc = r.parsed
check(
    "v2 get_session_document -> key, type, namespace, session",
    (doc.document_key, doc.document_type, doc.name_space, doc.session_id),
    (f"{ACCOUNT}:{NAMESPACE}:{V2_SESSION}", "CONTEXT", NAMESPACE, V2_SESSION),
)
check(
    "v2 get_session_document -> payload (merged)",
    doc.payload.additional_properties,
    {"property1": 101, "Property2": "abc", "property3": [True, None]},
)
ttl_left = (doc.ttl - before).total_seconds() if isinstance(doc.ttl, datetime) else None
check("v2 get_session_document -> ttl about an hour ahead", ttl_left is not None and 3500 < ttl_left <= 3601, True)
r = get_document_properties.sync_detailed(
    client=v2,
    body=GetPropertiesRequest(
        account_id=ACCOUNT,
        name_space=NAMESPACE,
        session_id=V2_SESSION,
        filter_=[f"{NAMESPACE}.property1", f"{NAMESPACE}.nope"],
    ),
)
check(
    "v2 get_document_properties",
    (r.status_code, r.parsed.additional_properties),
    (200, {f"{NAMESPACE}.property1": 101}),
)
# One store: the session written through v1 above is a v2 document too.
r = get_session_document.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=v2)
check(
    "v2 get_session_document of the v1 session -> payload",
    (r.status_code, r.parsed.payload.additional_properties),
    (200, {**written, "agentNote": "call back at 5"}),
)
r = get_session_document.sync_detailed(ACCOUNT, NAMESPACE, SESSION, client=ccs_v2_client.Client(base_url=BASE_URL))
check("v2 without access_token -> status", r.status_code, 401)

# Messaging: the AppJWT in `Authorization`, the ConsumerJWS in `X-LP-ON-BEHALF`.
messaging = messaging_client.Client(
    base_url=BASE_URL, headers={"Authorization": "smoke-app-jwt", "X-LP-ON-BEHALF": "smoke-consumer-jws"}
)
batch = [
    SetUserProfileRequest(
        kind=RequestKind.REQ,
        id="1,",
        type_=SetUserProfileRequestType.USERPROFILE_SETUSERPROFILE,
        body=SetUserProfileBody(
            authenticated_data=AuthenticatedData(
                lp_sdes=[
                    CustomerInfoSde(
                        type_=CustomerInfoSdeType.CTMRINFO, info=CustomerInfo(social_id="1234567890", ctype="vip")
                    ),
                    PersonalInfoSde(
                        type_=PersonalInfoSdeType.PERSONAL,
                        personal=PersonalInfo(firstname="John", lastname="Doe", gender=PersonalInfoGender.MALE),
                    ),
                ]
            )
        ),
    ),
    ConsumerRequestConversationRequest(
        kind=RequestKind.REQ,
        id="2,",
        type_=ConsumerRequestConversationRequestType.CM_CONSUMERREQUESTCONVERSATION,
        body=ConsumerRequestConversationBody(
            brand_id=ACCOUNT, campaign_info=CampaignInfo(campaign_id="99999", engagement_id="888888")
        ),
    ),
]
r = create_conversation.sync_detailed(ACCOUNT, client=messaging, body=batch, v=CreateConversationV.VALUE_3)
check("messaging create_conversation -> status", r.status_code, 200)
results = r.parsed if isinstance(r.parsed, list) else []
check(
    "messaging create_conversation -> codes and reqIds",
    [(i.code, i.req_id) for i in results],
    [("OK", "1,"), ("OK", "2,")],
)
conversation_id = results[1].body.conversation_id if len(results) == 2 else None
check(
    "messaging create_conversation -> has a conversationId",
    isinstance(conversation_id, str) and conversation_id != "",
    True,
)
print(f"python: conversation {conversation_id}")
r = create_conversation.sync_detailed(
    ACCOUNT,
    client=messaging_client.Client(base_url=BASE_URL, headers={"Authorization": "smoke-app-jwt"}),
    body=batch,
    v=CreateConversationV.VALUE_3,
)
check("messaging without X-LP-ON-BEHALF -> status", r.status_code, 401)

# A 429 with Retry-After on the next v1 read, and a client that retries it.
r = inject_fault.sync_detailed(
    client=admin,
    body=StatusFault(path=f"/v1/account/{ACCOUNT}/*", status=429, method=FaultMethod.GET, retry_after=1, times=1),
)
check("admin inject_fault 429 -> status", r.status_code, 201)
fault_id = r.parsed.id if r.status_code == 201 else None
attempts = []
for _ in range(3):
    r = get_session_property.sync_detailed(ACCOUNT, NAMESPACE, SESSION, "tier", client=v1)
    attempts.append(r.status_code)
    if r.status_code != 429:
        break
    time.sleep(int(r.headers.get("retry-after", "1")))
check("v1 get_session_property through the 429 -> attempts", attempts, [429, 200])
check("v1 get_session_property through the 429 -> value", r.parsed, "gold")
r = list_faults.sync_detailed(client=admin)
check("admin list_faults -> the fault is used up", (r.status_code, r.parsed), (200, []))

# The journal: what this scenario sent, credentials redacted.
r = list_requests.sync_detailed(client=admin)
check("admin list_requests -> status", r.status_code, 200)
journal = r.parsed if isinstance(r.parsed, list) else []
check(
    "journal -> the last two requests: the faulted read and its retry",
    [(e.method, e.status, e.fault if isinstance(e.fault, str) else None) for e in journal[-2:]],
    [("GET", 429, fault_id), ("GET", 200, None)],
)
first = journal[0] if journal else None
check(
    "journal -> the first request is the namespace creation, with its body",
    (first.method, first.path, first.status, first.body) if first else None,
    ("POST", f"/v1/account/{ACCOUNT}", 204, {"name": NAMESPACE}),
)
check(
    "journal -> maven-api-key redacted",
    {e.headers.additional_properties.get("maven-api-key") for e in journal if e.path.startswith("/v1/")},
    {"[redacted]", None},
)
check(
    "journal -> access_token redacted",
    all("access_token=[redacted]" in e.path for e in journal if e.path.startswith("/v2/") and "access_token" in e.path),
    True,
)
for secret in ("smoke-key", "smoke-token", "smoke-app-jwt", "smoke-consumer-jws"):
    check(f"journal -> {secret} appears nowhere", secret in r.content.decode(), False)
# ---------------------------------------------------------------------------
# The connector flow (issue 13): every host from the Domain API, the AppJWT
# from Sentinel, the ConsumerJWS from the IDP, then CONVERSATION and SEND.
# ---------------------------------------------------------------------------


def skeleton(value: Any) -> Any:
    """The shape of a JSON answer: each leaf replaced by its JSON type name."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def jwt_claims(token: Any) -> Any:
    """The claims of a JWT-shaped token, or None when it is not one."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None


def connector_flow() -> None:
    account = ACCOUNT
    client_id, client_secret = "smoke-client-id", "smoke-client-secret"
    ext_consumer_id = "smoke_python_consumer"

    # Domain API (no credential): every service at once, then one service.
    # `ccs serve` is the Domain API host; the hosts it names are used over its
    # scheme (http://), as the Rust layer does.
    domain_api = domain_client.Client(base_url=BASE_URL)
    scheme, own_host = urlsplit(BASE_URL).scheme, urlsplit(BASE_URL).netloc
    r = list_service_domains.sync_detailed(account, client=domain_api, version=ListServiceDomainsVersion.VALUE_0)
    check("connector list_service_domains -> status", r.status_code, 200)
    check("connector list_service_domains -> model", isinstance(r.parsed, ServiceDomainList), True)
    answer = json.loads(r.content)
    check(
        "connector list_service_domains -> shape",
        skeleton(answer)
        == {
            "baseURIs": [{"service": "string", "account": "string", "baseURI": "string"}]
            * len(answer.get("baseURIs", []))
        },
        True,
    )
    hosts = {d.service: d.base_uri for d in r.parsed.base_ur_is} if isinstance(r.parsed, ServiceDomainList) else {}
    check(
        "connector list_service_domains -> the connector's services, at the emulator's host:port",
        {s: hosts.get(s) for s in ("asyncMessagingEnt", "sentinel", "idp")},
        {s: own_host for s in ("asyncMessagingEnt", "sentinel", "idp")},
    )
    check(
        "connector list_service_domains -> every entry names the account",
        {d.account for d in r.parsed.base_ur_is} if isinstance(r.parsed, ServiceDomainList) else None,
        {account},
    )
    r = get_service_domain.sync_detailed(
        account, "asyncMessagingEnt", client=domain_api, version=GetServiceDomainVersion.VALUE_0
    )
    check("connector get_service_domain asyncMessagingEnt -> status", r.status_code, 200)
    check(
        "connector get_service_domain asyncMessagingEnt -> answer",
        json.loads(r.content),
        {"service": "asyncMessagingEnt", "account": account, "baseURI": hosts.get("asyncMessagingEnt")},
    )
    check("connector get_service_domain -> model", isinstance(r.parsed, ServiceDomain), True)
    r = get_service_domain.sync_detailed(
        account, "asyncMessagingEntt", client=domain_api, version=GetServiceDomainVersion.VALUE_0
    )
    check(
        "connector get_service_domain unknown service -> 404 {message}",
        (r.status_code, isinstance(r.parsed, DomainErrorMessage)),
        (404, True),
    )

    def url(service: str) -> str:
        return f"{scheme}://{hosts.get(service, 'missing-' + service)}"

    # Sentinel: the client credentials as a form body, no credential header.
    sentinel = connector_auth_client.Client(base_url=url("sentinel"))
    r = get_app_jwt.sync_detailed(
        account,
        client=sentinel,
        body=AppJwtRequest(client_id=client_id, client_secret=client_secret),
        v=GetAppJwtV.VALUE_0,
        grant_type=GetAppJwtGrantType.CLIENT_CREDENTIALS,
    )
    check("connector get_app_jwt -> status", r.status_code, 200)
    check("connector get_app_jwt -> model", isinstance(r.parsed, AppJwtResponse), True)
    check(
        "connector get_app_jwt -> shape",
        skeleton(json.loads(r.content)),
        {"access_token": "string", "expires_in": "string", "token_type": "string"},
    )
    app_jwt = r.parsed.access_token if isinstance(r.parsed, AppJwtResponse) else ""
    claims = jwt_claims(app_jwt) or {}
    check("connector get_app_jwt -> token_type", r.parsed.token_type if r.parsed else None, "Bearer")
    check(
        "connector get_app_jwt -> AppJWT claims",
        (claims.get("aud"), claims.get("azp"), claims.get("scope"), claims.get("iss")),
        (account, client_id, "msg.consumer", "Sentinel"),
    )
    check(
        "connector get_app_jwt -> valid one hour (exp - iat)",
        claims.get("exp", 0) - claims.get("iat", 0),
        3600,
    )
    r = get_app_jwt.sync_detailed(
        account,
        client=sentinel,
        body=AppJwtRequest(client_id=client_id, client_secret=""),
        v=GetAppJwtV.VALUE_0,
        grant_type=GetAppJwtGrantType.CLIENT_CREDENTIALS,
    )
    check(
        "connector get_app_jwt empty client_secret -> 401 invalid_client",
        (r.status_code, r.parsed.error if isinstance(r.parsed, OAuthError) else None),
        (401, OAuthErrorError.INVALID_CLIENT),
    )

    # IDP: the AppJWT as issued in `Authorization` (no prefix), JSON body.
    idp = connector_auth_client.AuthenticatedClient(
        base_url=url("idp"), token=app_jwt, prefix="", auth_header_name="Authorization"
    )
    r = get_consumer_jws.sync_detailed(
        account, client=idp, body=ConsumerJwsRequest(ext_consumer_id=ext_consumer_id), v=GetConsumerJwsV.VALUE_0
    )
    check("connector get_consumer_jws -> status", r.status_code, 201)
    check("connector get_consumer_jws -> model", isinstance(r.parsed, ConsumerJwsResponse), True)
    check("connector get_consumer_jws -> shape", skeleton(json.loads(r.content)), {"token": "string"})
    consumer_jws = r.parsed.token if isinstance(r.parsed, ConsumerJwsResponse) else ""
    claims = jwt_claims(consumer_jws) or {}
    check(
        "connector get_consumer_jws -> ConsumerJWS claims (no exp)",
        (claims.get("account_id"), claims.get("ext_consumer_id"), "lp_consumer_id" in claims, "exp" in claims),
        (account, ext_consumer_id, True, False),
    )
    # The ConsumerJWS where the AppJWT goes is refused. By default `ccs serve`
    # accepts any token it did not issue, so this refusal also shows that
    # the client sends the token exactly as issued (no `Bearer ` prefix).
    r = get_consumer_jws.sync_detailed(
        account,
        client=connector_auth_client.AuthenticatedClient(
            base_url=url("idp"), token=consumer_jws, prefix="", auth_header_name="Authorization"
        ),
        body=ConsumerJwsRequest(ext_consumer_id=ext_consumer_id),
        v=GetConsumerJwsV.VALUE_0,
    )
    check(
        "connector get_consumer_jws with a ConsumerJWS as AppJWT -> 401 {message}",
        (r.status_code, isinstance(r.parsed, AuthErrorMessage)),
        (401, True),
    )

    # CONVERSATION with the SDEs (the batch of the messaging scenario above),
    # the AppJWT and the ConsumerJWS as issued.
    messaging_host = url("asyncMessagingEnt")
    conn = messaging_client.Client(
        base_url=messaging_host, headers={"Authorization": app_jwt, "X-LP-ON-BEHALF": consumer_jws}
    )
    r = create_conversation.sync_detailed(account, client=conn, body=batch, v=CreateConversationV.VALUE_3)
    check("connector create_conversation -> status", r.status_code, 200)
    check(
        "connector create_conversation -> shape",
        skeleton(json.loads(r.content)),
        [
            {"code": "string", "body": {"msg": "string"}, "reqId": "string"},
            {"code": "string", "body": {"conversationId": "string"}, "reqId": "string"},
        ],
    )
    results = r.parsed if isinstance(r.parsed, list) else []
    conversation = results[1].body.conversation_id if len(results) == 2 else ""
    check("connector create_conversation -> a conversationId", bool(conversation), True)
    print(f"python: connector conversation {conversation} at {messaging_host}")

    def send(
        body: PublishEventRequest
        | UpdateConversationFieldRequest
        | GenerateUploadUrlRequest
        | GenerateDownloadUrlRequest,
        client: Any = conn,
    ) -> Any:
        return send_to_conversation.sync_detailed(account, client=client, body=body, v=SendToConversationV.VALUE_3)

    def publish(req_id: str, event: Any) -> PublishEventRequest:
        return publish_request(req_id, conversation, event)

    def published(step: str, r: Any, req_id: str, sequence: int) -> None:
        check(f"{step} -> status", r.status_code, 200)
        check(f"{step} -> model", isinstance(r.parsed, SendResponse), True)
        check(
            f"{step} -> answer",
            json.loads(r.content),
            {"reqId": req_id, "code": "OK", "body": {"sequence": sequence}},
        )

    text = text_event("Hello, I need your support")
    published("connector SEND text", send(publish("1", text)), "1", 0)
    typing = ChatStateEvent(type_=ChatStateEventType.CHATSTATEEVENT, chat_state=ChatState.COMPOSING)
    published("connector SEND chat state COMPOSING", send(publish("2", typing)), "2", 1)
    accept = AcceptStatusEvent(
        type_=AcceptStatusEventType.ACCEPTSTATUSEVENT, status=AcceptStatus.ACCEPT, sequence_list=[1, 2]
    )
    published("connector SEND accept status", send(publish("3", accept)), "3", 2)

    # Bad tokens (a token of the other kind; as above, a refusal also shows
    # that each header carries the token as issued): the documented 401 body,
    # errorCode 40102 (Invalid AppJWT) or 40103 (Invalid ConsumerJWS);
    # nothing is published.
    swapped = messaging_client.Client(
        base_url=messaging_host, headers={"Authorization": consumer_jws, "X-LP-ON-BEHALF": consumer_jws}
    )
    r = send(publish("4", text), client=swapped)
    check(
        "connector SEND with a ConsumerJWS as AppJWT -> 401 errorCode 40102",
        (r.status_code, r.parsed.body.error_code if isinstance(r.parsed, ConnectorError) else None),
        (401, 40102),
    )
    wrong = messaging_client.Client(
        base_url=messaging_host, headers={"Authorization": app_jwt, "X-LP-ON-BEHALF": app_jwt}
    )
    r = send(publish("4", text), client=wrong)
    check("connector SEND with an AppJWT as ConsumerJWS -> status", r.status_code, 401)
    check("connector SEND with an AppJWT as ConsumerJWS -> model", isinstance(r.parsed, ConnectorError), True)
    check(
        "connector SEND with an AppJWT as ConsumerJWS -> documented body",
        json.loads(r.content),
        {
            "kind": "resp",
            "code": 401,
            "body": {"title": "Invalid ConsumerJWS", "details": "ConsumerJWS is invalid", "errorCode": 40103},
            "type": ".ReqBody$ErrorResp",
        },
    )
    # It published nothing: the next event still gets sequence 3. After
    # COMPOSING another state says the consumer stopped typing.
    stopped = ChatStateEvent(type_=ChatStateEventType.CHATSTATEEVENT, chat_state=ChatState.ACTIVE)
    published("connector SEND chat state ACTIVE", send(publish("4", stopped)), "4", 3)

    # Structured content (issue 25): a card with quick replies, built from
    # the models of the structured content schema, published and numbered;
    # content the schema refuses answers 400 naming the member at fault.
    card = RichContentEvent(
        type_=RichContentEventType.RICHCONTENTEVENT,
        content=LayoutElement(
            type_=LayoutElementType.VERTICAL,
            elements=[
                ImageElement(
                    type_=ImageElementType.IMAGE, url="https://shop.example.org/img/4711.png", caption="Order 4711"
                ),
                TextElement(type_=TextElementType.TEXT, text="Where is order 4711?", style=ElementStyle(bold=True)),
                ButtonElement(
                    type_=ButtonElementType.BUTTON,
                    title="Track it",
                    click=ElementClick(
                        actions=[LinkAction(type_=LinkActionType.LINK, uri="https://shop.example.org/t/4711")]
                    ),
                ),
            ],
        ),
        quick_replies=QuickReplies(
            type_=QuickRepliesType.QUICKREPLIES,
            items_per_row=2,
            replies=[
                ButtonElement(
                    type_=ButtonElementType.BUTTON,
                    title=title,
                    click=ElementClick(
                        actions=[PublishTextAction(type_=PublishTextActionType.PUBLISHTEXT, text=title)]
                    ),
                )
                for title in ("Refund", "Wait")
            ],
        ),
    )
    check(
        "connector SEND rich content -> the card as the schema writes it",
        card.to_dict()["content"]["elements"][2]["click"]["actions"][0],
        {"type": "link", "uri": "https://shop.example.org/t/4711"},
    )
    published("connector SEND rich content (card, quick replies)", send(publish("c", card)), "c", 4)
    # The generated models refuse a button without a title themselves: sent
    # as raw JSON through the client's own HTTP client.
    r = conn.get_httpx_client().post(
        f"/api/account/{account}/messaging/consumer/conversation/send",
        params={"v": 3},
        json={
            "kind": "req",
            "id": "d",
            "type": "ms.PublishEvent",
            "body": {
                "dialogId": conversation,
                "event": {
                    "type": "RichContentEvent",
                    "content": {"type": "vertical", "elements": [{"type": "button"}]},
                },
            },
        },
    )
    check(
        "connector SEND rich content without a button title -> 400 naming it",
        (r.status_code, r.json()),
        (400, {"message": "/body/event/content/elements/0/title: required"}),
    )

    # File sharing: an upload URL, the PUT of the bytes to the `swift` host
    # (no token: the URL's signature), a hosted/file message naming the
    # file, then a download URL and the GET of the same bytes.
    image = b"GIF89a\x01\x00\x01\x00smoke"
    r = send(
        GenerateUploadUrlRequest(
            kind=RequestKind.REQ,
            id="f1",
            type_=GenerateUploadUrlRequestType.MS_GENERATEURLFORUPLOADFILE,
            body=GenerateUploadUrlBody(file_size=len(image), file_type=FileType.GIF),
        )
    )
    check("connector SEND ms.GenerateURLForUploadFile -> status", r.status_code, 200)
    upload = json.loads(r.content)["body"]
    check(
        "connector SEND ms.GenerateURLForUploadFile -> shape",
        skeleton(upload),
        {"relativePath": "string", "queryParams": {"temp_url_sig": "string", "temp_url_expires": "string"}},
    )
    swift = messaging_client.Client(base_url=url("swift"))
    account_in_path, file_name = upload["relativePath"].rsplit("/", 2)[-2:]
    r = upload_file.sync_detailed(
        account_in_path,
        file_name,
        client=swift,
        body=File(payload=io.BytesIO(image)),
        temp_url_sig=upload["queryParams"]["temp_url_sig"],
        temp_url_expires=upload["queryParams"]["temp_url_expires"],
    )
    check("connector PUT the file to swift -> status", r.status_code, 201)
    shared = HostedFileEvent(
        type_=HostedFileEventType.CONTENTEVENT,
        content_type=HostedFileEventContentType.HOSTEDFILE,
        message=HostedFile(relative_path=upload["relativePath"], file_type=FileType.GIF, caption="smoke"),
    )
    published("connector SEND hosted/file", send(publish("f2", shared)), "f2", 5)
    r = send(
        GenerateDownloadUrlRequest(
            kind=RequestKind.REQ,
            id="f3",
            type_=GenerateDownloadUrlRequestType.MS_GENERATEURLFORDOWNLOADFILE,
            body=GenerateDownloadUrlBody(relative_path=upload["relativePath"]),
        )
    )
    check("connector SEND ms.GenerateURLForDownloadFile -> status", r.status_code, 200)
    download = json.loads(r.content)["body"]
    r = download_file.sync_detailed(
        account_in_path,
        file_name,
        client=swift,
        temp_url_sig=download["queryParams"]["temp_url_sig"],
        temp_url_expires=download["queryParams"]["temp_url_expires"],
    )
    check("connector GET the file from swift -> the same bytes", (r.status_code, r.content), (200, image))

    close = close_request("5", conversation)
    r = send(close)
    check("connector SEND close -> status", r.status_code, 200)
    check("connector SEND close -> model", isinstance(r.parsed, SendResponse), True)
    check("connector SEND close -> answer", json.loads(r.content), {"reqId": "5", "code": "OK", "body": {}})
    r = send(publish("6", text))
    check(
        "connector SEND text to the closed conversation -> 409 {message}",
        (r.status_code, json.loads(r.content)),
        (409, {"message": "conversation is closed"}),
    )
    check("connector SEND close again (idempotent) -> status", send(close).status_code, 200)
    # The Messaging Window API's close of the MAIN dialog (issue 25), whose
    # id is the conversation's: on a closed conversation, 200 again.
    close_dialog = UpdateConversationFieldRequest(
        kind=RequestKind.REQ,
        id="7",
        type_=UpdateConversationFieldRequestType.CM_UPDATECONVERSATIONFIELD,
        body=UpdateConversationFieldBody(
            conversation_id=conversation,
            conversation_field=DialogChangeField(
                field=DialogChangeFieldField.DIALOGCHANGE,
                type_=DialogChangeFieldType.UPDATE,
                dialog=DialogUpdate(
                    dialog_id=conversation, state=DialogUpdateState.CLOSE, closed_cause="Closed by consumer"
                ),
            ),
        ),
    )
    r = send(close_dialog)
    check(
        "connector SEND DialogChange close -> answer",
        (r.status_code, json.loads(r.content)),
        (200, {"reqId": "7", "code": "OK", "body": {}}),
    )


# ---------------------------------------------------------------------------
# The return channel (issue 24): what LivePerson sends back arrives as signed
# webhooks. A receiver on the standard library only, registered with the
# `ccs serve --agent echo` at ECHO_URL, hears the echo agent's reply to a
# consumer text sent through the connector flow.
# ---------------------------------------------------------------------------

# The event types of the App Installation manifest's `capabilities.webhooks`.
WEBHOOK_EVENTS = (
    "ms.MessagingEventNotification.ContentEvent",
    "ms.MessagingEventNotification.RichContentEvent",
    "ms.MessagingEventNotification.AcceptStatusEvent",
    "ms.MessagingEventNotification.ChatStateEvent",
    "cqm.ExConversationChangeNotification",
)
# How long to wait for the agent's reply: no timing is asserted, this only
# bounds a run in which nothing arrives.
WEBHOOK_WAIT_SECONDS = 30.0


@dataclass
class Delivery:
    """One POST the receiver got: its path, headers (lower-case names), the
    raw body bytes as received, and the status the receiver answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver:
    """A webhook endpoint on http.server, served by a thread on a free port of
    127.0.0.1. It keeps each POST as it came and answers 200 at once (the
    checks run in the main thread, from `deliveries`)."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self._body()
                headers = {name.lower(): value for name, value in self.headers.items()}
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                deliveries.put(Delivery(self.path, headers, body, 200))

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    body = b""
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the checks print what matters

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_ok(client_secret: str, header: str | None, body: bytes) -> bool:
    """LivePerson's `x-liveperson-signature`: `sha1=` and the Base64 of the
    HMAC-SHA1 of the raw body bytes, keyed with the app's client secret;
    compared in constant time."""
    digest = hmac.new(client_secret.encode(), body, hashlib.sha1).digest()
    expected = "sha1=" + base64.b64encode(digest).decode("ascii")
    return hmac.compare_digest(expected.encode(), (header or "").encode())


def typed_notification(notification: Any) -> Any:
    """The notification parsed by the models generated from
    openapi/connector-webhooks.yaml (chosen by its `type`), or the error."""
    models = {
        "ms.MessagingEventNotification": MessagingEventNotification,
        "cqm.ExConversationChangeNotification": ExConversationChangeNotification,
    }
    try:
        return models[notification["type"]].from_dict(notification)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return error


def model_name(parsed: Any) -> str:
    """The class a notification parsed to, or the parse error, as a check shows it."""
    return f"{type(parsed).__name__}: {parsed}" if isinstance(parsed, Exception) else type(parsed).__name__


def webhook_flow() -> None:
    account = ACCOUNT
    # The app credentials the echo emulator was started with
    # (scripts/spec/spec-smoke): they sign the webhooks.
    client_id, client_secret = "smoke-client-id", "smoke-client-secret"
    text = "Hello 👋, ça va? Ünïcode in the signed body"

    admin_echo = emulator_admin_client.Client(base_url=ECHO_URL)
    r = reset_emulator.sync_detailed(client=admin_echo)
    check("webhook echo emulator reset_emulator -> status", r.status_code, 204)

    receiver = WebhookReceiver()
    print(f"python: webhook receiver at {receiver.url}")
    try:
        # Every event type to its own path of the receiver, as the App
        # Installation manifest's `capabilities.webhooks` would register it.
        registration = {event: {"endpoint": f"{receiver.url}/webhooks/{event}"} for event in WEBHOOK_EVENTS}
        registered = {event: {**value, "max_retries": 0} for event, value in registration.items()}
        r = put_webhooks.sync_detailed(client=admin_echo, body=WebhookRegistrations.from_dict(registration))
        check(
            "webhook admin put_webhooks -> the registrations (max_retries 0 by default)",
            (r.status_code, r.parsed.to_dict() if isinstance(r.parsed, WebhookRegistrations) else r.content),
            (200, registered),
        )
        r = get_webhooks.sync_detailed(client=admin_echo)
        check(
            "webhook admin get_webhooks -> the same",
            (r.status_code, r.parsed.to_dict() if isinstance(r.parsed, WebhookRegistrations) else r.content),
            (200, registered),
        )

        # The connector flow, short: hosts, AppJWT (the app credentials the
        # echo emulator requires), ConsumerJWS, CONVERSATION, one SEND.
        scheme = urlsplit(ECHO_URL).scheme
        r = list_service_domains.sync_detailed(
            account, client=domain_client.Client(base_url=ECHO_URL), version=ListServiceDomainsVersion.VALUE_0
        )
        hosts = {d.service: d.base_uri for d in r.parsed.base_ur_is} if isinstance(r.parsed, ServiceDomainList) else {}
        check("webhook list_service_domains -> status", r.status_code, 200)

        def url(service: str) -> str:
            return f"{scheme}://{hosts.get(service, 'missing-' + service)}"

        r = get_app_jwt.sync_detailed(
            account,
            client=connector_auth_client.Client(base_url=url("sentinel")),
            body=AppJwtRequest(client_id=client_id, client_secret=client_secret),
            v=GetAppJwtV.VALUE_0,
            grant_type=GetAppJwtGrantType.CLIENT_CREDENTIALS,
        )
        check("webhook get_app_jwt -> status", r.status_code, 200)
        app_jwt = r.parsed.access_token if isinstance(r.parsed, AppJwtResponse) else ""
        r = get_consumer_jws.sync_detailed(
            account,
            client=connector_auth_client.AuthenticatedClient(
                base_url=url("idp"), token=app_jwt, prefix="", auth_header_name="Authorization"
            ),
            body=ConsumerJwsRequest(ext_consumer_id="smoke_python_webhooks"),
            v=GetConsumerJwsV.VALUE_0,
        )
        check("webhook get_consumer_jws -> status", r.status_code, 201)
        consumer_jws = r.parsed.token if isinstance(r.parsed, ConsumerJwsResponse) else ""
        conn = messaging_client.Client(
            base_url=url("asyncMessagingEnt"), headers={"Authorization": app_jwt, "X-LP-ON-BEHALF": consumer_jws}
        )
        r = create_conversation.sync_detailed(account, client=conn, body=batch, v=CreateConversationV.VALUE_3)
        check("webhook create_conversation -> status", r.status_code, 200)
        results = r.parsed if isinstance(r.parsed, list) else []
        conversation = results[1].body.conversation_id if len(results) == 2 else ""
        print(f"python: webhook conversation {conversation}")
        r = send_to_conversation.sync_detailed(
            account,
            client=conn,
            body=publish_request("1", conversation, text_event(text)),
            v=SendToConversationV.VALUE_3,
        )
        check("webhook SEND text -> status", r.status_code, 200)

        # Every delivery until the agent's ContentEvent in this conversation.
        def agent_reply(change: dict[str, Any]) -> bool:
            return (
                change.get("dialogId") == conversation
                and (change.get("event") or {}).get("type") == "ContentEvent"
                and (change.get("originatorMetadata") or {}).get("role") == "ASSIGNED_AGENT"
            )

        received: list[tuple[Delivery, Any]] = []
        reply = None
        deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
        while reply is None and (left := deadline - time.monotonic()) > 0:
            try:
                delivery = receiver.deliveries.get(timeout=left)
            except queue.Empty:
                break
            try:
                notification = json.loads(delivery.body)
            except ValueError:
                notification = None
            received.append((delivery, notification))
            changes = ((notification or {}).get("body") or {}).get("changes") or []
            reply = next((c for c in changes if isinstance(c, dict) and agent_reply(c)), None)
        check(f"webhook -> the echo agent's reply arrived within {WEBHOOK_WAIT_SECONDS:.0f} s", reply is not None, True)

        # Each delivery: signed with the client secret over the raw bytes, the
        # account and client id headers, LivePerson's envelope, and sent to
        # the endpoint registered for its event type.
        for number, (delivery, notification) in enumerate(received, 1):
            envelope = notification if isinstance(notification, dict) else {}
            changes = (envelope.get("body") or {}).get("changes")
            kind = envelope.get("type")
            if kind == "ms.MessagingEventNotification" and isinstance(changes, list):
                events = {f"{kind}.{(c.get('event') or {}).get('type')}" for c in changes if isinstance(c, dict)}
            else:
                events = {kind}
            name = "/".join(sorted(map(str, events)))
            check(
                f"webhook delivery {number} ({name}) -> signature, headers, envelope, endpoint, answered",
                {
                    "signature": signature_ok(
                        client_secret, delivery.headers.get("x-liveperson-signature"), delivery.body
                    ),
                    "account": delivery.headers.get("x-liveperson-account-id"),
                    "client": delivery.headers.get("x-liveperson-client-id"),
                    "content-type": delivery.headers.get("content-type", "").split(";")[0].strip(),
                    "kind": envelope.get("kind"),
                    "type": kind in ("ms.MessagingEventNotification", "cqm.ExConversationChangeNotification"),
                    "changes": isinstance(changes, list) and len(changes) > 0,
                    "model": model_name(typed_notification(envelope)),
                    "endpoint": [f"/webhooks/{event}" for event in events] == [delivery.path],
                    "answered": delivery.answered,
                },
                {
                    "signature": True,
                    "account": account,
                    "client": client_id,
                    "content-type": "application/json",
                    "kind": "notification",
                    "type": True,
                    "changes": True,
                    "model": str(kind).split(".")[-1],
                    "endpoint": True,
                    "answered": 200,
                },
            )
        if reply is not None:
            check(
                "webhook agent reply -> the echoed text, by the assigned agent",
                (
                    reply["event"].get("message"),
                    reply["event"].get("contentType"),
                    reply["originatorMetadata"].get("role"),
                    reply.get("dialogId"),
                ),
                (text, "text/plain", "ASSIGNED_AGENT", conversation),
            )
            # The same reply through the generated models.
            parsed = typed_notification(received[-1][1])
            typed_reply = next(
                (
                    c
                    for c in (parsed.body.changes if isinstance(parsed, MessagingEventNotification) else [])
                    if c.dialog_id == conversation
                    and isinstance(c.event, WebhookContentEvent)
                    and getattr(c.originator_metadata, "role", None) == "ASSIGNED_AGENT"
                ),
                None,
            )
            check(
                "webhook agent reply, through connector_webhooks_client's models -> text and role",
                (typed_reply.event.message, typed_reply.originator_metadata.role) if typed_reply else None,
                (text, "ASSIGNED_AGENT"),
            )
            delivery = received[-1][0]
            # The check can fail: a wrong secret, or one byte more, and the
            # same header no longer matches.
            header = delivery.headers.get("x-liveperson-signature")
            check(
                "webhook agent reply -> signature with a wrong secret, and over a tampered body, refused",
                (
                    signature_ok("not-the-secret", header, delivery.body),
                    signature_ok(client_secret, header, delivery.body + b" "),
                ),
                (False, False),
            )

        # The emulator's record of the same deliveries: each to this receiver,
        # delivered at its first attempt, which the receiver answered 200. A
        # delivery whose answer the emulator has not recorded yet is
        # `pending`: wait for it (as above, only a bound on a broken run).
        deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
        while True:
            r = get_conversation.sync_detailed(conversation, client=admin_echo)
            recorded = r.parsed.deliveries if isinstance(r.parsed, Conversation) else []
            if all(d.state.value != "pending" for d in recorded) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(
            "webhook admin get_conversation -> each delivery to this receiver, answered 200 at once",
            (
                r.status_code,
                len(recorded) >= len(received),
                sorted(
                    {
                        (d.state.value, tuple(a.status for a in d.attempts), d.endpoint.startswith(receiver.url))
                        for d in recorded
                    }
                ),
            ),
            (200, True, [("delivered", (200,), True)]),
        )
        print(f"python: webhook event types delivered: {sorted(d.event_type for d in recorded)}")
        # The journal records each attempt, its signature `[redacted]`: no
        # signature received, nor the client secret, appears in it.
        r = list_requests.sync_detailed(client=admin_echo)
        attempts = [
            e
            for e in (r.parsed if isinstance(r.parsed, list) else [])
            if getattr(e.webhook, "conversation_id", None) == conversation
        ]
        shown = r.content.decode()
        check(
            "webhook admin list_requests -> every attempt, signature redacted, no signature and no client secret",
            (
                r.status_code,
                len(attempts) >= len(received),
                {e.headers.additional_properties.get("x-liveperson-signature") for e in attempts},
                [d.headers.get("x-liveperson-signature", "")[5:] in shown for d, _ in received],
                client_secret in shown,
            ),
            (200, True, {"[redacted]"}, [False] * len(received), False),
        )

        survey_flow(account, conn, receiver)

        # Unregister before the receiver stops.
        r = put_webhooks.sync_detailed(client=admin_echo, body=WebhookRegistrations())
        check(
            "webhook admin put_webhooks {} -> none left",
            (r.status_code, r.parsed.to_dict() if r.parsed else None),
            (200, {}),
        )
    finally:
        receiver.stop()


class Changes:
    """The changes delivered to a receiver, kept as they arrive: deliveries to
    different endpoints are sent side by side, so a message may arrive before
    the conversation change that came first."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self.seen: list[tuple[Any, dict[str, Any]]] = []

    def find(self, wanted: Any) -> Any:
        """The first change, seen or still to come, for which
        `wanted(envelope type, change)` holds; None if none comes in time."""
        deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
        while True:
            found = next((c for kind, c in self.seen if wanted(kind, c)), None)
            if found is not None or (left := deadline - time.monotonic()) <= 0:
                return found
            try:
                delivery = self.receiver.deliveries.get(timeout=left)
            except queue.Empty:
                return None
            try:
                envelope = json.loads(delivery.body)
            except ValueError:
                continue
            for change in (envelope.get("body") or {}).get("changes") or []:
                if isinstance(change, dict):
                    self.seen.append((envelope.get("type"), change))


def survey_flow(account: str, conn: Any, receiver: WebhookReceiver) -> None:
    """The post-conversation survey (issue 25): the echo emulator has one
    (`ccs serve --survey`). A conversation opened with `Client-Properties`
    declaring MULTI_DIALOG, once closed, gets a POST_SURVEY dialog (`state`
    CLOSE, `stage` OPEN) whose bot asks in it; the answer is published in that
    dialog, and the conversation is over."""
    r = create_conversation.sync_detailed(
        account,
        client=conn,
        body=batch,
        v=CreateConversationV.VALUE_3,
        client_properties='{"type":".ClientProperties","features":["MULTI_DIALOG"]}',
    )
    check("survey create_conversation with Client-Properties MULTI_DIALOG -> status", r.status_code, 200)
    results = r.parsed if isinstance(r.parsed, list) else []
    conversation = results[1].body.conversation_id if len(results) == 2 else ""
    r = send_to_conversation.sync_detailed(
        account, client=conn, body=close_request("s1", conversation), v=SendToConversationV.VALUE_3
    )
    check("survey SEND close (the MAIN dialog) -> status", r.status_code, 200)
    changes = Changes(receiver)

    def survey_dialog(change: dict[str, Any]) -> Any:
        details = (change.get("result") or {}).get("conversationDetails") or {}
        return next(
            (
                d.get("dialogId")
                for d in details.get("dialogs") or []
                if d.get("dialogType") == "POST_SURVEY" and d.get("state") == "OPEN"
            ),
            None,
        )

    opened = changes.find(
        lambda kind, c: kind == "cqm.ExConversationChangeNotification"
        and (c.get("result") or {}).get("convId") == conversation
        and survey_dialog(c) is not None,
    )
    details = ((opened or {}).get("result") or {}).get("conversationDetails") or {}
    check(
        "survey webhook -> a POST_SURVEY dialog open, state CLOSE, stage OPEN",
        (opened is not None, details.get("state"), details.get("stage")),
        (True, "CLOSE", "OPEN"),
    )
    survey = survey_dialog(opened) if opened else ""
    question = changes.find(
        lambda kind, c: kind == "ms.MessagingEventNotification"
        and c.get("dialogId") == survey
        and (c.get("originatorMetadata") or {}).get("role") == "AGENT",
    )
    check(
        "survey webhook -> the bot's question in the survey dialog",
        (question or {}).get("event", {}).get("type"),
        "ContentEvent",
    )
    answer = publish_request("s2", survey, text_event("5"))
    r = send_to_conversation.sync_detailed(account, client=conn, body=answer, v=SendToConversationV.VALUE_3)
    check("survey SEND the answer in the survey dialog -> status", r.status_code, 200)
    over = changes.find(
        lambda kind, c: kind == "cqm.ExConversationChangeNotification"
        and (c.get("result") or {}).get("convId") == conversation
        and ((c.get("result") or {}).get("conversationDetails") or {}).get("stage") == "CLOSE",
    )
    check("survey webhook -> the conversation is over (stage CLOSE)", over is not None, True)


connector_flow()
webhook_flow()

print(f"python: {'all answers as expected' if mismatches == 0 else f'{mismatches} mismatches'}")
sys.exit(1 if mismatches else 0)
