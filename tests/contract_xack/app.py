"""A Flask-SocketIO chat documented by sio-asyncapi, whose AsyncAPI documents declare acks with
the `x-ack` message extension. The suite tests/contract_xack.rs imports the documents this
script wrote (committed next to it):

    pip install sio-asyncapi==0.3.0 && python app.py > sio-asyncapi-0.3.0.yaml   # AsyncAPI 2.5.0
    pip install sio-asyncapi==1.0.0 && python app.py > sio-asyncapi-1.0.0.yaml   # AsyncAPI 3.1.0
"""

from typing import List, Optional

from flask import Flask
from pydantic import BaseModel, Field
from sio_asyncapi import AsyncAPISocketIO

app = Flask(__name__)
socketio = AsyncAPISocketIO(
    app,
    validate=True,
    generate_docs=True,
    version="1.0.0",
    title="sio-asyncapi chat",
    description="A chat served by Flask-SocketIO and documented by sio-asyncapi.",
    server_url="http://localhost:5000",
    server_name="local",
)


class JoinRequest(BaseModel):
    """Who joins which room."""

    room: str = Field(..., description="The room to join")
    nickname: Optional[str] = Field(None, description="A name to show, if any")


class JoinAck(BaseModel):
    """The answer to a join."""

    success: bool = Field(..., description="Whether the join worked")
    members: List[str] = Field(..., description="Who is in the room")
    error: Optional[str] = Field(None, description="Why it did not work")


class LeaveRequest(BaseModel):
    """Who leaves which room."""

    room: str


class ChatMessage(BaseModel):
    """A message in a room."""

    room: str
    text: str
    votes: int = Field(0, description="How many liked it")


@socketio.on("join", get_from_typehint=True)
def join(request: JoinRequest) -> JoinAck:
    """Join a room; the server acks with who is there."""
    return JoinAck(success=True, members=[request.nickname or "someone"])


@socketio.on("leave", get_from_typehint=True)
def leave(request: LeaveRequest) -> None:
    """Leave a room; no ack."""


@socketio.doc_emit("message", ChatMessage, "A message in a room the client joined.")
def send_message(message: ChatMessage):
    socketio.emit("message", message.dict())


if __name__ == "__main__":
    print(socketio.asyncapi_doc.get_yaml(), end="")
