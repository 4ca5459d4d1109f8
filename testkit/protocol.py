"""A light Streamlit client: the browser's protocol (protobuf over the websocket) without a
browser, so many simulated users cost the machine almost nothing but the server's own work.

Used by ``scripts/browser_bench.py`` for its concurrent sessions: each :class:`ProtocolSession`
uploads its own generated track, types a selection, starts a hunt and answers through the
answer deck's state (as ``loopfind_app/answer_deck_component/deck.js`` sends it), timing each
answer from the message leaving the client to the deck's next branches arriving and to the end
of the panel's rerun.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from dataclasses import dataclass, field

from websockets.sync.client import connect

DECK_COMPONENT = "loopfind_answer_deck"
RUN_TIMEOUT_S = 240.0
EARLY_FOR_RERUN = 2  # ForwardMsg.ScriptFinishedStatus: the app asked for another run (st.rerun)


@dataclass
class Element:
    """A widget or element the last runs drew: its type, proto and fragment."""

    kind: str
    proto: object
    fragment_id: str


@dataclass
class AnswerTiming:
    """One answer sent by a protocol client, seconds from sending it."""

    act: str
    branches_s: float  # until the deck's data with this answer applied arrived
    rerun_s: float | None  # until the panel's rerun finished (None: not waited for)


@dataclass
class ProtocolSession:
    """One user speaking the browser's protocol to the app at ``url``."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)  # page name → script hash
    elements: dict[str, Element] = field(default_factory=dict)  # widget id → last drawn
    widgets: dict[str, object] = field(default_factory=dict)  # widget id → WidgetState held
    session_id: str = ""
    page: str = ""
    texts: list[str] = field(default_factory=list)  # markdown and alerts of the last run

    def __post_init__(self) -> None:
        self.ws = connect(self.url.replace("http", "ws", 1) + "/_stcore/stream",
                          subprotocols=["streamlit"], max_size=None, open_timeout=60,
                          compression=os.environ.get("LF_WS_COMPRESSION", "deflate") or None)

    def close(self) -> None:
        self.ws.close()

    # ----- messages ------------------------------------------------------------------------
    def _send(self, back_msg) -> float:
        sent = time.perf_counter()
        self.ws.send(back_msg.SerializeToString())
        return sent

    def _receive(self, timeout_s: float = RUN_TIMEOUT_S):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = ForwardMsg()
        message.ParseFromString(self.ws.recv(timeout=timeout_s))
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id or self.session_id
        elif kind == "navigation":
            self.pages |= {p.page_name: p.page_script_hash for p in message.navigation.app_pages}
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_kind = element.WhichOneof("type")
            proto = getattr(element, element_kind)
            widget_id = getattr(proto, "id", "")
            if widget_id:
                self.elements[widget_id] = Element(element_kind, proto, message.delta.fragment_id)
            elif element_kind in ("markdown", "alert"):
                self.texts.append(proto.body)
        return kind, message

    def run(self, page: str | None = None, states=(), fragment_id: str = "",
            watch=None, wait: bool = True) -> tuple[float | None, float | None]:
        """One rerun with the widget states held plus ``states`` (triggers are sent once);
        returns (seconds to the end of the run, seconds to the first message ``watch``
        accepts). With ``wait=False`` it returns at that message (the end: None); what the run
        sends after it is read by the next call."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if page is not None:
            self.page = page
        message = BackMsg()
        client = message.rerun_script
        client.query_string = ""
        client.page_script_hash = self.pages.get(self.page, "")
        client.fragment_id = fragment_id
        held = dict(self.widgets)
        for state in states:
            held[state.id] = state
        client.widget_states.widgets.extend(held.values())
        for state in states:
            if state.WhichOneof("value") not in ("trigger_value", "json_trigger_value"):
                self.widgets[state.id] = state
        sent = self._send(message)
        self.texts = []
        seen = None
        while True:
            kind, forward = self._receive()
            if seen is None and watch is not None and watch(kind, forward):
                seen = time.perf_counter() - sent
                if not wait:
                    return None, seen
            if kind == "script_finished" and forward.script_finished != EARLY_FOR_RERUN \
                    and (watch is None or seen is not None):
                return time.perf_counter() - sent, seen

    def drain(self) -> None:
        """Read until the runs in progress have finished (nothing more comes for a while)."""
        while True:
            try:
                self._receive(timeout_s=5.0)
            except TimeoutError:
                return

    # ----- finding and setting widgets ------------------------------------------------------
    def find(self, kind: str, label: str | None = None, **fields) -> Element:
        for element in reversed(list(self.elements.values())):
            if element.kind != kind or (label is not None and element.proto.label != label):
                continue
            if all(getattr(element.proto, k) == v for k, v in fields.items()):
                return element
        raise LookupError(f"no {kind} {label or fields} drawn")

    @staticmethod
    def state(widget_id: str, **value):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=widget_id)
        for name, v in value.items():
            if name == "file_uploader_state_value":
                state.file_uploader_state_value.CopyFrom(v)
            else:
                setattr(state, name, v)
        return state

    def click(self, label: str, **fields) -> None:
        button = self.find("button", label, **fields)
        self.run(states=[self.state(button.proto.id, trigger_value=True)])

    # ----- the app's steps -------------------------------------------------------------------
    def upload(self, name: str, data: bytes) -> None:
        """The Track page's uploader: ask for an upload URL, PUT the file, run with it."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import FileUploaderState

        uploader = self.find("file_uploader")
        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        self._send(request)
        while True:
            kind, forward = self._receive()
            if kind == "file_urls_response":
                urls = forward.file_urls_response.file_urls[0]
                break
        put_multipart(self.url, urls.upload_url, name, data)
        info = FileUploaderState()
        uploaded = info.uploaded_file_info.add()
        uploaded.file_id, uploaded.name, uploaded.size = urls.file_id, name, len(data)
        uploaded.file_urls.CopyFrom(urls)
        self.run(states=[self.state(uploader.proto.id, file_uploader_state_value=info)])
        if not any(f"Loaded {name.split('.')[0]}" in text.replace("\\", "")
                   for text in self.texts):
            raise RuntimeError(f"the upload of {name} did not load: {self.texts}")

    def select(self, start_s: float, duration_s: float) -> None:
        """The Select page's typed selection, submitted with its form's button."""
        self.run(page="Select")
        start, length = self.find("number_input", "Start (s)"), self.find(
            "number_input", "Length (s)")
        submit = self.find("button", "Use these times")
        self.run(states=[self.state(start.proto.id, double_value=start_s),
                         self.state(length.proto.id, double_value=duration_s),
                         self.state(submit.proto.id, trigger_value=True)])
        if not any(text.startswith("**Selection:**") for text in self.texts):
            raise RuntimeError(f"the selection was not taken: {self.texts}")

    def start_hunt(self, patience: int | None = None) -> None:
        """The Hunt page's Start hunt (with ``patience`` typed first, if given)."""
        self.run(page="Hunt")
        states = [self.state(self.find("button", "Start hunt").proto.id, trigger_value=True)]
        if patience is not None:
            field_ = self.find("number_input", "Patience")
            states.insert(0, self.state(field_.proto.id, int_value=patience))
        self.run(states=states)
        self.choose_review("One at a time")  # the default, Adaptive, may show a page first
        self.deck()  # raises when no hunt is drawn

    def choose_review(self, mode: str) -> None:
        """Set the Hunt page's review control (a segmented control) to ``mode``."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        control = self.find("button_group")
        state = WidgetState(id=control.proto.id)
        state.string_array_value.data.append(mode)
        self.run(states=[state])

    def deck(self) -> tuple[Element, dict]:
        """The answer deck last drawn and its data."""
        element = self.find("bidi_component", component_name=DECK_COMPONENT)
        return element, deck_json(element.proto)

    def answer(self, act: str, seq: int, wait: bool = True) -> AnswerTiming:
        """Press ``act`` on the deck as its JavaScript does: send the queue (this one action)
        as the component's state and run its fragment; time the next branches and, with
        ``wait``, the rerun (else the next call reads the rest of it, as a user answers the
        candidate already on screen without waiting for the panel's rerun)."""
        element, data = self.deck()
        now = data["now"]
        candidate = now["candidate"]
        action = {"seq": seq, "act": act, "hunt": data["hunt"], "answers": now["answers"],
                  "frame": candidate["frame"] if candidate else None,
                  "sent": 1000 * time.time()}
        value = json.dumps({"actions": {"hunt": data["hunt"], "list": [action]}})

        def applied(kind, forward) -> bool:
            if kind != "delta" or forward.delta.WhichOneof("type") != "new_element":
                return False
            new = forward.delta.new_element
            return (new.WhichOneof("type") == "bidi_component"
                    and new.bidi_component.component_name == DECK_COMPONENT
                    and deck_json(new.bidi_component).get("applied", 0) >= seq)

        rerun_s, branches_s = self.run(states=[self.state(element.proto.id, json_value=value)],
                                       fragment_id=element.fragment_id, watch=applied,
                                       wait=wait)
        return AnswerTiming(act, branches_s, rerun_s)


def deck_json(proto) -> dict:
    """The data the deck's component was drawn with."""
    text = proto.json or proto.mixed.json
    return json.loads(text) if text else {}


def put_multipart(base_url: str, upload_url: str, name: str, data: bytes) -> None:
    """PUT ``data`` as the form field ``file`` (as the browser's uploader does), with the XSRF
    cookie the server hands out and its header."""
    with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=30) as response:
        cookie = next(v.split(";", 1)[0] for k, v in response.headers.items()
                      if k.lower() == "set-cookie" and v.startswith("_streamlit_xsrf="))
    token = cookie.split("=", 1)[1].strip('"')
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: audio/wav\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    url = upload_url if upload_url.startswith("http") else base_url + upload_url
    request = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "X-Xsrftoken": token, "Cookie": cookie})
    with urllib.request.urlopen(request, timeout=120) as response:
        if response.status not in (200, 204):
            raise RuntimeError(f"upload failed: HTTP {response.status}")
