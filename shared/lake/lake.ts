/**
 * The bronze lake as the ingestion core needs it: whole-object writes that appear atomically,
 * listing by prefix, reads of small objects and deletes.
 */
export interface LakeObject {
  path: string;
  size: number;
}

/** A file being written block by block; nothing is visible until `commit`. */
export interface LakeUpload {
  /** Takes the bytes as they are, without copying: the caller must not change them afterwards. */
  stage(bytes: Uint8Array): Promise<void>;
  /** Makes the object visible in one step; returns its size in bytes. */
  commit(contentType: string): Promise<number>;
}

export interface Lake {
  /** Container or file system the paths are relative to, for messages. */
  readonly location: string;
  /** Creates the container or folder where missing; `abortSignal` gives up on the request. */
  ensure(options?: { abortSignal?: AbortSignal }): Promise<void>;
  upload(path: string): LakeUpload;
  put(path: string, body: string | Uint8Array, contentType: string): Promise<void>;
  /** Contents of a small object, or null when it does not exist. */
  get(path: string): Promise<Buffer | null>;
  list(prefix: string): AsyncIterable<LakeObject>;
  delete(path: string): Promise<void>;
}
