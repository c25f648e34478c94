"""The CLI's access flags (docs/access.md §7), the same spelling as the
.NET CLI: ``--allow-user``, ``--allow-group``, ``--allow-everyone`` on the
serving commands, ``--server-user`` and ``--server-group`` on the
connecting ones."""

from __future__ import annotations

import argparse
from typing import Any, Dict

__all__ = ['add_server_flags', 'add_client_flags', 'server_access',
           'client_access']


def add_server_flags(p: argparse.ArgumentParser) -> None:
    """``echo``, ``receive``, ``rpc serve``: whom to admit besides us."""
    p.add_argument('--allow-user', action='append', default=[],
                   metavar='NAME', help='also admit clients running as user '
                   'NAME (a name, a uid, or a Windows SID); repeatable')
    p.add_argument('--allow-group', action='append', default=[],
                   metavar='NAME', help='also admit clients in group NAME (a '
                   'name, a gid, or a Windows SID; on Unix supplementary '
                   'membership counts); repeatable')
    p.add_argument('--allow-everyone', action='store_true',
                   help='admit every local account (no check)')


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """``send``, ``request``, ``rpc call``: which servers to trust."""
    p.add_argument('--server-user', action='append', default=[],
                   metavar='NAME', help='also trust a server running as user '
                   'NAME (root, a uid, LocalSystem or a Windows SID); '
                   'repeatable')
    p.add_argument('--server-group', action='append', default=[],
                   metavar='NAME', help='also trust a server in group NAME '
                   '(a name, a gid, or a Windows SID; on Unix supplementary '
                   'membership counts); repeatable')


def server_access(args: argparse.Namespace) -> Dict[str, Any]:
    """The Listener / IPC keywords of the server flags."""
    return dict(allow_users=args.allow_user, allow_groups=args.allow_group,
                allow_everyone=args.allow_everyone)


def client_access(args: argparse.Namespace) -> Dict[str, Any]:
    """The connect / IPC keywords of the client flags."""
    return dict(server_users=args.server_user,
                server_groups=args.server_group)
