"""Helpers of the shared-memory tests: a raw socket peer that sends
descriptor frames and files of its own making (docs/shared-memory.md)."""

import array
import gc
import fcntl
import os
import socket
import zlib

from tests.support import pipe_name  # noqa: F401  (re-exported)

from npipes._shmframe import DescriptorCodec

ALL_SEALS = (fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
             | fcntl.F_SEAL_SEAL)


def open_fds():
    """How many descriptors this process has open (garbage collected
    first: an object of an earlier test may still hold one)."""
    gc.collect()
    return len(os.listdir('/proc/self/fd'))


def memfd(data, seals=ALL_SEALS, size=None):
    """A memfd holding *data* (then sized *size*, if given), sealed."""
    fd = os.memfd_create('test', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    if size is not None:
        os.ftruncate(fd, size)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def descriptor_frame(length, payload_crc=0, crc=False, endian='big'):
    """The descriptor frame a well-behaved sender writes."""
    return DescriptorCodec(endian).frame(length, payload_crc, crc)


def raw_descriptor(with_crc=False, endian='big', **fields):
    """A descriptor frame of any field values (version, kind, length,
    crc, position, flags), its frame CRC right when *with_crc*."""
    from npipes._shmframe import FLAG
    codec = DescriptorCodec(endian)
    values = dict(version=1, kind=1, length=1, crc=0, position=0, flags=0)
    values.update(fields)
    data = codec._data.pack(values['version'], values['kind'],
                            values['length'], values['crc'],
                            values['position'], values['flags'])
    header = codec._header.pack((len(data) + 8) ^ FLAG, len(data))
    return header + data + codec._field.pack(
        zlib.crc32(data) if with_crc else 0)


def inline_frame(payload, with_crc=False, endian='big'):
    """An ordinary frame."""
    from npipes._frames import FrameEncoder
    return FrameEncoder(endian).frame(payload, with_crc)


def raw_client(address):
    """A plain connected AF_UNIX socket (the attacker's)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    return sock


def send_with(sock, data, *fds):
    """Send *data* in one sendmsg carrying *fds* (none: no control data)."""
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
            array.array('i', fds).tobytes())] if fds else []
    sent = sock.sendmsg([data], anc)
    assert sent == len(data)


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


# -- the ring (docs/shared-memory.md §8) --------------------------------------
PAGE = 4096
RING_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


def ring_file(capacity, seals=RING_SEALS, size=None):
    """A ring's file as a well-behaved sender makes it (or *size* bytes),
    and its writable mapping: ``(fd, mapping)``."""
    import mmap
    fd = os.memfd_create('test-ring', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, PAGE + capacity if size is None else size)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    length = os.fstat(fd).st_size
    return fd, mmap.mmap(fd, min(length, PAGE + capacity))


def ring_frame(position, length, payload_crc=0, with_crc=False,
               flags=0, endian='big'):
    """The kind-2 descriptor frame of a ring slot."""
    return raw_descriptor(with_crc, endian, kind=2, position=position,
                          length=length, flags=flags,
                          crc=payload_crc if with_crc else 0)


def consumed(mapping):
    """The receiver's ``consumed`` word in a ring's control page."""
    return int.from_bytes(mapping[:8], 'little')


def ring_maps():
    """How many of this process's mappings are of an npipes ring."""
    with open('/proc/self/maps') as maps:
        return sum('memfd:npipes-ring' in line for line in maps)
