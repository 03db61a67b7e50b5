import { ByteBuffer } from './byteBuffer.js';

/**
 * Thrift's compact protocol, write side only, for Parquet's footer and page headers
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md). A struct
 * is written field by field in ascending id order; each field header carries the id's delta
 * from the previous field of the same struct, so nested structs keep their own last id.
 */
const BOOLEAN_TRUE = 1;
const BOOLEAN_FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

export type ListElement = 'i32' | 'binary' | 'struct';
const ELEMENT_TYPE: Record<ListElement, number> = { i32: I32, binary: BINARY, struct: STRUCT };

const utf8 = new TextEncoder();

export class ThriftWriter {
  private readonly out = new ByteBuffer();
  private lastField = 0;
  private readonly stack: number[] = [];

  /** The bytes written so far (a view; valid until the next write). */
  bytes(): Uint8Array {
    return this.out.written();
  }

  private byte(b: number): void {
    this.out.byte(b);
  }

  private varint(n: number): void {
    this.out.varint(n);
  }

  private varint64(n: bigint): void {
    while (n >= 0x80n) {
      this.out.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.out.byte(Number(n));
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastField;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.varint(zigzag32(id));
    }
    this.lastField = id;
  }

  i8(id: number, value: number): this {
    this.fieldHeader(id, BYTE);
    this.byte(value & 0xff);
    return this;
  }

  i16(id: number, value: number): this {
    this.fieldHeader(id, I16);
    this.varint(zigzag32(value));
    return this;
  }

  i32(id: number, value: number): this {
    this.fieldHeader(id, I32);
    this.varint(zigzag32(value));
    return this;
  }

  /** An i64 field; numbers must be safe integers (file offsets, sizes, counts). */
  i64(id: number, value: number | bigint): this {
    this.fieldHeader(id, I64);
    const v = BigInt(value);
    this.varint64(v >= 0n ? v << 1n : (-v << 1n) - 1n);
    return this;
  }

  bool(id: number, value: boolean): this {
    this.fieldHeader(id, value ? BOOLEAN_TRUE : BOOLEAN_FALSE);
    return this;
  }

  binary(id: number, value: Uint8Array | string): this {
    this.fieldHeader(id, BINARY);
    this.raw(typeof value === 'string' ? utf8.encode(value) : value);
    return this;
  }

  private raw(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.out.append(bytes);
  }

  /** A struct field: `body` writes its fields; an empty body is an empty struct (a union's arm). */
  struct(id: number, body: (w: this) => void): this {
    this.fieldHeader(id, STRUCT);
    this.nested(body);
    return this;
  }

  private nested(body: (w: this) => void): void {
    this.stack.push(this.lastField);
    this.lastField = 0;
    body(this);
    this.byte(0);
    this.lastField = this.stack.pop()!;
  }

  list<T>(id: number, element: ListElement, items: readonly T[], each: (w: this, item: T) => void): this {
    this.fieldHeader(id, LIST);
    const type = ELEMENT_TYPE[element];
    if (items.length < 15) this.byte((items.length << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(items.length);
    }
    for (const item of items) each(this, item);
    return this;
  }

  /** List elements: an i32, a binary or a struct, without a field header. */
  elementI32(value: number): void {
    this.varint(zigzag32(value));
  }
  elementBinary(value: Uint8Array | string): void {
    this.raw(typeof value === 'string' ? utf8.encode(value) : value);
  }
  elementStruct(body: (w: this) => void): void {
    this.nested(body);
  }

  /** Ends the top-level struct. */
  end(): Uint8Array {
    this.byte(0);
    return this.bytes();
  }
}

function zigzag32(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}
