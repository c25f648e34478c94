"""The access model on Windows (docs/access.md §2-§4) over _win32's
primitives: a Rule resolved to SIDs, the pipe's security descriptor, and
the identity of a pipe's client or server process."""

from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

from . import _win32
from .access import PeerIdentity, Rule, is_id, is_sid, refusal_text
from .errors import PipeAccessError

__all__ = ['WindowsRule', 'client_identity', 'server_identity']

#: FILE_GENERIC_READ | FILE_GENERIC_WRITE (FILE_CREATE_PIPE_INSTANCE too).
SELF_RIGHTS = '0x12019f'
#: The same without FILE_APPEND_DATA (= FILE_CREATE_PIPE_INSTANCE on a
#: pipe): an admitted account connects but never serves our name.
PEER_RIGHTS = '0x12019b'
EVERYONE_SID = 'WD'


def _sid(entry: str) -> Optional[str]:
    if is_id(entry):
        return None                        # a Unix id: nobody here
    if is_sid(entry):
        return entry.upper()
    return _win32.account_sid(entry)


def _identity(pid: int) -> Tuple[PeerIdentity, Tuple[str, ...]]:
    token = _win32.process_token(pid)
    if token is None:
        return PeerIdentity(pid), ()
    sid, groups = token
    return PeerIdentity(pid, None, sid, (), lambda: _win32.sid_name(sid)), \
        groups


def client_identity(handle: int) -> Tuple[PeerIdentity, Tuple[str, ...]]:
    """The connected client of server pipe *handle*: (identity, enabled
    group SIDs); the SID is None if its token could not be read."""
    return _identity(_win32.client_pid(handle))


def server_identity(handle: int) -> Tuple[PeerIdentity, Tuple[str, ...]]:
    """The server process of client pipe *handle* (§4): its token user; if
    that cannot be read, the pipe object's owner stands in (only the pipe's
    creator can have set it)."""
    peer, groups = _identity(_win32.server_pid(handle))
    if peer.sid is None:
        owner = _win32.pipe_owner_sid(handle)
        if owner is not None:
            peer = PeerIdentity(peer.pid, None, owner, (),
                                lambda: _win32.sid_name(owner or ''))
    return peer, groups


class WindowsRule:
    """A Rule resolved to SIDs once, when applied (ValueError for an
    account that does not exist)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.everyone = rule.everyone
        self.me = _win32.current_sid()
        self.users: Tuple[str, ...] = tuple(
            s for s in map(_sid, rule.users) if s is not None)
        self.groups: Tuple[str, ...] = tuple(
            s for s in map(_sid, rule.groups) if s is not None)
        self._users: FrozenSet[str] = frozenset(self.users)
        self._groups: FrozenSet[str] = frozenset(self.groups)

    def sddl(self) -> str:
        """§3: owner = us; protected DACL: us with full pipe rights, then
        each listed SID (or Everyone) without FILE_CREATE_PIPE_INSTANCE."""
        text = f'O:{self.me}D:P(A;;{SELF_RIGHTS};;;{self.me})'
        if self.everyone:
            return text + f'(A;;{PEER_RIGHTS};;;{EVERYONE_SID})'
        seen = {self.me}
        for sid in self.users + self.groups:
            if sid not in seen:
                seen.add(sid)
                text += f'(A;;{PEER_RIGHTS};;;{sid})'
        return text

    def admits(self, peer: PeerIdentity, groups: Tuple[str, ...]) -> bool:
        """§3: everyone; us; a listed user; an enabled listed group."""
        if self.everyone:
            return True
        if peer.sid is None:
            return False
        sid = peer.sid.upper()
        return sid == self.me or sid in self._users or \
            not self._groups.isdisjoint(g.upper() for g in groups)

    def refusal(self, name: str, path: str,
                server: PeerIdentity) -> PipeAccessError:
        """§4: the client's error for a server this rule does not admit."""
        if server.sid is None:
            who, entry = 'a user that could not be read', None
        else:
            user = server.user
            who = (f'user {user} ({server.sid}), pid {server.pid}'
                   if user else f'user {server.sid}, pid {server.pid}')
            entry = user or server.sid
        return PipeAccessError(refusal_text(name, who, self.rule, entry),
                               path=path)
