"""The protobuf wire format, read without generated classes: fields as (number, wire type, value).

Protobuf's encoding has five cases (varint, 64-bit, length-delimited, 32-bit, and the obsolete
groups, which Kubernetes never uses), so a reader is a few lines; what a field *means* comes from
a schema (``protobuf``). Malformed input raises :class:`WireError` naming the byte offset.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a protobuf message."""


@dataclass(frozen=True)
class Field:
    number: int
    wire_type: int
    value: int | bytes
    """The varint as an unsigned integer, the payload of a length-delimited field, or the raw
    little-endian bytes of a fixed-width one."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if at >= len(data):
            raise WireError(f"truncated varint at byte {at}")
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, at
        shift += 7
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {at}")


def fields(data: bytes) -> Iterator[Field]:
    """The fields of one message, in wire order."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {at}")
        value: int | bytes
        if wire_type == VARINT:
            value, at = _varint(data, at)
        elif wire_type == LENGTH:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise WireError(f"field {number} runs past the end ({size} bytes at byte {at})")
            value, at = data[at : at + size], at + size
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if at + width > len(data):
                raise WireError(f"truncated fixed-width field {number} at byte {at}")
            value, at = data[at : at + width], at + width
        else:
            raise WireError(f"unsupported wire type {wire_type} for field {number}")
        yield Field(number, wire_type, value)


def packed_varints(data: bytes) -> list[int]:
    """The integers of a packed repeated varint field."""
    values, at = [], 0
    while at < len(data):
        value, at = _varint(data, at)
        values.append(value)
    return values


def signed(value: int, bits: int = 64) -> int:
    """A varint read as a two's complement int32/int64."""
    return value - (1 << 64) if value >= 1 << (bits - 1) and value < 1 << 64 else value


def zigzag(value: int) -> int:
    """A sint32/sint64 varint."""
    return (value >> 1) ^ -(value & 1)


def fixed(value: bytes, kind: str) -> float | int:
    """A fixed-width value: ``double``, ``float``, ``fixed64``/``sfixed64``, ``fixed32``/..."""
    formats = {
        "double": "<d",
        "float": "<f",
        "fixed64": "<Q",
        "sfixed64": "<q",
        "fixed32": "<I",
        "sfixed32": "<i",
    }
    number: float | int = struct.unpack(formats[kind], value)[0]
    return number
