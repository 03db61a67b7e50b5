import Cursor from 'pg-cursor';

/** The two protocol hooks pg calls on a submitted query (pg-cursor's typings leave them out). */
interface RowHooks {
  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void;
  handleDataRow(msg: { fields: (string | null)[] }): void;
}

const base = Cursor.prototype as unknown as RowHooks;

/** A value of a row that its type parser could not convert. */
export interface UnreadableValue {
  column: string;
  text: string;
  error: unknown;
}

/**
 * pg-cursor converts each row inside the socket's data handler, where an exception thrown by a
 * type parser escapes every promise and takes the whole process down (pg's own Query catches it;
 * pg-cursor does not). This cursor catches it there instead: the first failure is kept with the
 * column and the text that caused it, later rows are dropped, and the reader rethrows the failure
 * after the pending read completes, so it fails one read, never the process.
 */
export class GuardedCursor extends Cursor {
  private described: { name: string; dataTypeID: number }[] = [];
  failure: UnreadableValue | undefined;

  constructor(
    text: string,
    values: unknown[],
    private readonly types: { getTypeParser(oid: number): (text: string) => unknown },
  ) {
    super(text, values, { rowMode: 'array', types });
  }

  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void {
    this.described = msg.fields;
    base.handleRowDescription.call(this, msg);
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    if (this.failure) return;
    try {
      base.handleDataRow.call(this, msg);
    } catch (error) {
      this.failure = this.locate(msg.fields, error);
    }
  }

  /** Which value of the row failed: each is parsed again on its own (this runs once, on failure). */
  private locate(fields: (string | null)[], error: unknown): UnreadableValue {
    for (const [i, text] of fields.entries()) {
      const field = this.described[i];
      if (text === null || !field) continue;
      try {
        this.types.getTypeParser(field.dataTypeID)(text);
      } catch (err) {
        return { column: field.name, text, error: err };
      }
    }
    return { column: '(unknown)', text: '', error };
  }
}
