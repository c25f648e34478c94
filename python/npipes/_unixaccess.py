"""The access model on Unix (docs/access.md §2-§4): the kernel's word on a
connected socket's peer, a Rule resolved to uids and gids, and the socket
file mode that follows from it."""

from __future__ import annotations

import errno
import grp
import os
import platform
import pwd
import socket
import struct
from typing import FrozenSet, List, Optional, Tuple

from ._platform import BSD, LINUX
from .access import (UNKNOWN, AccessEntryError, PeerIdentity, Rule, is_id,
                     is_sid, refusal_text)
from .consts import SOCKET_MODE_PRIVATE, SOCKET_MODE_SHARED
from .errors import PipeAccessError

__all__ = ['peer_identity', 'UnixRule', 'user_name']

_SOL_SOCKET = socket.SOL_SOCKET
# SO_PEERCRED is 17 except on ppc64/ppc64le (21); SO_PEERGROUPS 59 (4.13+).
_SO_PEERCRED: int = getattr(socket, 'SO_PEERCRED',
                            21 if platform.machine().startswith('ppc') else 17)
_SO_PEERGROUPS = 59
_SOCKET_MODE_GROUP = 0o660


def user_name(uid: int) -> Optional[str]:
    """The account name of *uid*, or None (never raises)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError, OSError):
        return None


def _identity(pid: int, uid: int, gids: Tuple[int, ...]) -> PeerIdentity:
    return PeerIdentity(pid, uid, None, gids, lambda: user_name(uid))


def _linux_groups(sock: socket.socket, gid: int) -> Tuple[int, ...]:
    """The effective gid, then SO_PEERGROUPS' supplementary gids (only the
    gid where the kernel lacks the option)."""
    for capacity in (64, 65536):           # NGROUPS_MAX is 65536
        try:
            raw = sock.getsockopt(_SOL_SOCKET, _SO_PEERGROUPS, capacity * 4)
        except OSError as exc:
            if exc.errno == errno.ERANGE:
                continue                   # more groups than fit: grow
            break                          # ENOPROTOOPT: before Linux 4.13
        groups: List[int] = [gid]
        for (g,) in struct.iter_unpack('=I', raw[:len(raw) // 4 * 4]):
            if g not in groups:
                groups.append(g)
        return tuple(groups)
    return (gid,)


def peer_identity(sock: socket.socket) -> PeerIdentity:
    """The peer of connected AF_UNIX *sock* as the kernel reports it, read
    once (UNKNOWN if it cannot be read: the rule then refuses it)."""
    try:
        if LINUX:
            raw = sock.getsockopt(_SOL_SOCKET, _SO_PEERCRED, 12)
            pid, uid, gid = struct.unpack('=iII', raw[:12])
            return _identity(pid, uid, _linux_groups(sock, gid))
        if BSD:
            # getsockopt(SOL_LOCAL=0, LOCAL_PEERCRED=1) -> struct xucred
            # {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t[16]}
            raw = sock.getsockopt(0, 1, 76)
            version, uid = struct.unpack_from('=II', raw)
            if version != 0:
                return UNKNOWN
            count = min(16, max(0, struct.unpack_from('=h', raw, 8)[0]),
                        max(0, (len(raw) - 12) // 4))
            gids = struct.unpack_from(f'={count}I', raw, 12)
            return _identity(-1, uid, tuple(dict.fromkeys(gids)))
    except (OSError, struct.error):
        pass
    return UNKNOWN


def _id(entry: str, kind: str) -> Optional[int]:
    """The uid (*kind* 'user') or gid ('group') an entry names; None for a
    SID (a Windows account: nobody here); AccessEntryError if no such
    name (getpwnam/getgrnam: NSS and LDAP count)."""
    if is_sid(entry):
        return None
    if is_id(entry):
        return int(entry)
    try:
        return pwd.getpwnam(entry).pw_uid if kind == 'user' \
            else grp.getgrnam(entry).gr_gid
    except KeyError:
        raise AccessEntryError(f"There is no {kind} named '{entry}' on this "
                               f"system.") from None


class UnixRule:
    """A Rule resolved to ids, once, when it is applied (a server starts,
    a client connects): ValueError for a name that does not exist."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.everyone = rule.everyone
        self.uids: FrozenSet[int] = frozenset(
            u for u in (_id(e, 'user') for e in rule.users) if u is not None)
        self.gids: FrozenSet[int] = frozenset(
            g for g in (_id(e, 'group') for e in rule.groups)
            if g is not None)
        self._me = os.geteuid()

    def admits(self, peer: PeerIdentity) -> bool:
        """§3: everyone; the current user; a listed uid; a listed gid among
        the peer's groups (supplementary as primary).  An unread uid is
        refused."""
        if self.everyone:
            return True
        if peer.uid is None:
            return False
        if peer.uid == self._me or peer.uid in self.uids:
            return True
        return not self.gids.isdisjoint(peer.gids)

    def apply(self, path: str) -> None:
        """§3's table: the mode (and for one group, the group) of the
        socket file at *path*, set before it is published."""
        if not (self.everyone or self.uids or self.gids):
            os.chmod(path, SOCKET_MODE_PRIVATE)
            return
        if not (self.everyone or self.uids) and len(self.gids) == 1:
            try:
                os.chown(path, -1, next(iter(self.gids)), follow_symlinks=False)
            except OSError:
                pass        # a group we may not give the file: the check decides
            else:
                os.chmod(path, _SOCKET_MODE_GROUP)
                return
        os.chmod(path, SOCKET_MODE_SHARED)

    def refusal(self, name: str, path: str,
                server: PeerIdentity) -> PipeAccessError:
        """§4: the client's error for a server this rule does not admit."""
        entry: Optional[str] = None
        if server.uid is None:
            who = 'a user that could not be read'
        else:
            user = server.user
            who = f'uid {server.uid}' + ('' if user is None else f' ({user})')
            entry = user or str(server.uid)
        # (the kernel gives the groups with the uid: both read, or neither)
        return PipeAccessError(refusal_text(name, who, self.rule, entry,
                                            groups_read=True),
                               path=path, uid=server.uid)
