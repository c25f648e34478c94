"""Who may connect, who is calling, which servers a client trusts
(docs/access.md: the one model the .NET library implements too).

A :class:`Rule` is what one end admits as its peer: the current user
always, plus listed users and groups (names, numeric ids on Unix, SIDs on
Windows), or everyone.  A server takes ``allow_users=[...]``,
``allow_groups=[...]``, ``allow_everyone=True``; a client
``server_users=[...]``, ``server_groups=[...]``.  Every connection's
:class:`PeerIdentity` is read from the OS once, when the connection is
made.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable, NamedTuple, Optional, Tuple, Union

__all__ = ['ROOT', 'LOCAL_SYSTEM', 'LOCAL_SERVICE', 'NETWORK_SERVICE',
           'ADMINISTRATORS', 'Rule', 'Policy', 'PeerIdentity', 'policy',
           'AccessEntryError',
           'server_rule', 'is_sid', 'is_id']

#: Unix: uid 0; clients of a root daemon trust it (``server_users=[ROOT]``).
ROOT = '0'
#: Windows: NT AUTHORITY\SYSTEM, the account most services run as.
LOCAL_SYSTEM = 'S-1-5-18'
#: Windows: NT AUTHORITY\LOCAL SERVICE.
LOCAL_SERVICE = 'S-1-5-19'
#: Windows: NT AUTHORITY\NETWORK SERVICE.
NETWORK_SERVICE = 'S-1-5-20'
#: Windows: BUILTIN\Administrators, a group (elevated administrators only).
ADMINISTRATORS = 'S-1-5-32-544'

Entries = Iterable[Union[str, int]]


class AccessEntryError(ValueError):
    """An access entry that names nobody: empty or blank (when added), or
    an account or group that does not exist (when the rule is applied,
    before the pipe name is touched).  The CLI's exit code 2, as .NET's."""


def is_sid(entry: str) -> bool:
    """A Windows SID entry (``S-1-...``, any case): admits nobody on Unix."""
    return entry[:4].upper() == 'S-1-'


def is_id(entry: str) -> bool:
    """A numeric Unix uid/gid entry: used as is, admits nobody on Windows."""
    return entry.isascii() and entry.isdigit()


def _entries(given: Optional[Entries], what: str) -> Tuple[str, ...]:
    if given is None:
        return ()
    if isinstance(given, (str, int)):       # one entry, not its characters
        given = [given]
    out = []
    for entry in given:
        text = str(entry) if isinstance(entry, int) and \
            not isinstance(entry, bool) else entry
        if not isinstance(text, str) or not text.strip():
            raise AccessEntryError(f'A {what} entry cannot be empty: '
                                   f'{entry!r}.')
        if text not in out:
            out.append(text)
    return tuple(out)


class Rule(NamedTuple):
    """Which peers one end admits (docs/access.md §1); the current user is
    always admitted.  ``str(rule)`` is the rule in words, as logs and
    errors give it: ``current user, users [alice], groups [staff]``."""

    users: Tuple[str, ...] = ()
    groups: Tuple[str, ...] = ()
    everyone: bool = False

    @classmethod
    def of(cls, users: Optional[Entries] = None,
           groups: Optional[Entries] = None,
           everyone: bool = False) -> Rule:
        """A rule from entries (str, or int ids); ValueError if one is
        empty or blank."""
        return cls(_entries(users, 'user'), _entries(groups, 'group'),
                   bool(everyone))

    @property
    def current_user_only(self) -> bool:
        return not (self.everyone or self.users or self.groups)

    def __str__(self) -> str:
        if self.everyone:
            return 'everyone'
        text = 'current user'
        if self.users:
            text += ', users [' + ', '.join(self.users) + ']'
        if self.groups:
            text += ', groups [' + ', '.join(self.groups) + ']'
        return text


CURRENT_USER = Rule()
EVERYONE = Rule(everyone=True)


class Policy(NamedTuple):
    """Both rules of one end: ``allow`` (clients a server admits) and
    ``trust`` (servers a client talks to).  The transport takes one."""

    allow: Rule = CURRENT_USER
    trust: Rule = CURRENT_USER


def policy(value: Union[bool, Policy, None]) -> Policy:
    """A Policy; a bool is 0.2.0's ``allow_other_users`` (True: everyone
    both ways)."""
    if isinstance(value, Policy):
        return value
    return Policy(EVERYONE, EVERYONE) if value else Policy()


def server_rule(allow_other_users: bool = False,
                allow_users: Optional[Entries] = None,
                allow_groups: Optional[Entries] = None,
                allow_everyone: bool = False) -> Rule:
    """A server's rule from its keywords (``allow_other_users=True`` is
    the 0.2.0 shorthand for ``allow_everyone=True``)."""
    return Rule.of(allow_users, allow_groups,
                   allow_everyone or allow_other_users)


def client_policy(allow_other_users: bool = False,
                  server_users: Optional[Entries] = None,
                  server_groups: Optional[Entries] = None) -> Policy:
    """A client's policy from its keywords: it trusts servers running as
    the current user or one of *server_users*, or holding one of
    *server_groups* (docs/access.md §4); ``allow_other_users=True`` trusts
    every server (and no entry is checked).  An empty or blank entry is
    AccessEntryError."""
    if allow_other_users:
        return Policy(EVERYONE, EVERYONE)
    return Policy(CURRENT_USER, Rule.of(server_users, server_groups))


_UNREAD = object()


class PeerIdentity:
    """Who is at the other end of one connection (docs/access.md §5), read
    from the OS once when the connection was made.

    ``pid`` (-1 unknown), ``uid`` (Unix effective uid, else None), ``sid``
    (Windows user SID, else None), ``gids`` (Unix: the effective gid, then
    the supplementary ones) and ``user``, the account name, looked up the
    first time it is read (None if the lookup fails; it never raises).
    """

    __slots__ = ('pid', 'uid', 'sid', 'gids', '_lookup', '_user', '_lock')

    def __init__(self, pid: int = -1, uid: Optional[int] = None,
                 sid: Optional[str] = None, gids: Tuple[int, ...] = (),
                 lookup: Optional[Callable[[], Optional[str]]] = None
                 ) -> None:
        self.pid = pid
        self.uid = uid
        self.sid = sid
        self.gids = gids
        self._lookup = lookup
        self._user: object = _UNREAD
        self._lock = threading.Lock()

    @property
    def user(self) -> Optional[str]:
        """The peer's account name (Windows ``DOMAIN\\user``), or None."""
        with self._lock:
            if self._user is _UNREAD:
                try:
                    self._user = None if self._lookup is None \
                        else self._lookup()
                except Exception:          # a failed lookup is "unknown"
                    self._user = None
            return self._user if isinstance(self._user, str) else None

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        """``{"pid", "uid", "user", "sid"}``: the ``whoami`` answer."""
        return {'pid': self.pid, 'uid': self.uid, 'user': self.user,
                'sid': self.sid}

    def __str__(self) -> str:
        """For logs: ``pid 4242, uid 1000``, ``pid 4242, sid S-1-5-18``,
        ``unknown``."""
        parts = [] if self.pid < 0 else [f'pid {self.pid}']
        if self.uid is not None:
            parts.append(f'uid {self.uid}')
        if self.sid is not None:
            parts.append(f'sid {self.sid}')
        return ', '.join(parts) or 'unknown'

    def __repr__(self) -> str:
        return f'<PeerIdentity {self}>'


#: The peer of a stream whose platform told nothing.
UNKNOWN = PeerIdentity()


def refusal_text(name: str, who: str, rule: Rule,
                 entry: Optional[str], groups_read: bool = False) -> str:
    """docs/access.md §4: a client's refusal of a server, in words.  The
    advice names the user *entry* (None: the server's user could not be
    read, so nothing can admit it); a client that trusts groups is also
    told the group form where the server's groups were read
    (*groups_read*), as one of them would then admit it."""
    if entry is None:
        admit = 'its user must be readable to be trusted'
    else:
        admit = (f'to trust it, add it to server_users=[...] '
                 f'(server_users=["{entry}"]; CLI --server-user {entry})')
        if rule.groups and groups_read:
            admit += (', or one of its groups to server_groups=[...] '
                      '(CLI --server-group NAME)')
    return (f"The server on pipe '{name}' runs as {who}, which this client "
            f"does not trust (trusted: {rule}); refused before anything was "
            f"sent or read; {admit}.")
