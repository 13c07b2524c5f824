import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  BlobNotFoundError,
  StorageFullError,
  UploadNotFoundError,
  type AppendResult,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type UploadState,
} from "./blob-store.js";
import { decodeState, encodeState, uploadedSize, type S3Upload } from "./s3-upload-state.js";

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key ("team/" keeps this registry's objects under team/). */
  prefix: string;
  /** Unset for AWS itself. */
  endpoint?: string;
  /** Unset: the AWS chain's (AWS_REGION, ~/.aws/config). */
  region?: string;
  forcePathStyle: boolean;
  /** The endpoint clients reach S3 under, for presigned URLs (default: endpoint). */
  publicEndpoint?: string;
  /** Hand out presigned URLs for blob GETs (storage.redirect). */
  redirect: boolean;
  /** Unset: the AWS chain's (environment, ~/.aws). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bytes per multipart part; at least 5 MiB, S3's minimum for all but the last. */
  partSize?: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * MiB;
const MIN_PART_SIZE = 5 * MiB;
/** S3's limits: parts per multipart upload, and the largest object CopyObject copies in one request. */
const MAX_PARTS = 10_000;
const MAX_SINGLE_COPY = 5 * 1024 * MiB;
const COPY_PART_SIZE = 1024 * MiB;
/** Presigned URLs are for a redirect the client follows at once. */
const PRESIGN_SECONDS = 300;
/** Objects removed at a time when deleting an upload (one request each: see deleteObjects). */
const DELETE_CONCURRENCY = 8;
const UPLOAD_ID = /^[A-Za-z0-9-]+$/;
/** Connections to S3 per node. */
const MAX_SOCKETS = 512;

/**
 * Blobs in an S3 bucket: `blobs/<alg>/<two hex>/<hex>`, uploads under `uploads/<id>/`, blobs taken out
 * of service under `quarantine/<alg>-<hex>`. An upload is a multipart upload (`uploads/<id>/data`) of
 * fixed-size parts plus a tail object with the bytes after the last full part; the state persisted by
 * the caller names both, so any node continues any upload and a failed request leaves the persisted
 * state intact (it only ever adds parts past the state's and a tail under a new key). Blobs become
 * visible by a server-side copy, which S3 makes atomic: a blob's key never holds partial content.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly presigner: S3Client | undefined;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  /**
   * Bytes of upload data this store holds in memory (all its uploads), now and at the most: each
   * request holds at most the part it fills and one in flight, whatever the upload's size.
   */
  readonly buffered = { current: 0, peak: 0 };
  readonly presignedUrl?: (digest: string, method: "GET") => Promise<string>;

  constructor(private readonly options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix =
      options.prefix === "" || options.prefix.endsWith("/") ? options.prefix : `${options.prefix}/`;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (this.partSize < MIN_PART_SIZE) throw new Error(`S3 parts must be at least ${MIN_PART_SIZE} bytes`);
    this.client = s3Client(options, options.endpoint);
    if (options.redirect) {
      const signer = options.publicEndpoint ? s3Client(options, options.publicEndpoint) : this.client;
      this.presigner = signer;
      // Only the object is signed, not a Range: the client sends whichever range it wants to S3.
      this.presignedUrl = (digest) =>
        getSignedUrl(signer, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), {
          expiresIn: PRESIGN_SECONDS,
        });
    }
  }

  /** Fails with a message naming the bucket and endpoint when the bucket cannot be reached. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const where = this.options.endpoint ?? "AWS";
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const reason =
        status === 404
          ? "no such bucket"
          : status === 403 || status === 401
            ? `access denied (HTTP ${status}): check the AWS credentials`
            : status
              ? `HTTP ${status} ${errorName(err) ?? ""}`.trim()
              : describe(err);
      throw new Error(
        `cannot use S3 bucket ${this.bucket} at ${where}: ${reason} (check storage.s3.bucket, ` +
          "storage.s3.endpoint, storage.s3.region and the AWS credentials)",
        { cause: err },
      );
    }
  }

  close(): void {
    this.client.destroy();
    if (this.presigner && this.presigner !== this.client) this.presigner.destroy();
  }

  private blobKey(digest: string): string {
    const [algorithm, hex] = digest.split(":") as [string, string];
    return `${this.prefix}blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
  }

  private uploadPrefix(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new UploadNotFoundError(id);
    return `${this.prefix}uploads/${id}/`;
  }

  async stat(digest: string): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.getObject(this.blobKey(digest), range);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      throw err;
    }
  }

  async delete(digest: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
  }

  async quarantine(digest: string): Promise<void> {
    const [algorithm, hex] = digest.split(":") as [string, string];
    const source = this.blobKey(digest);
    const stat = await this.stat(digest);
    if (!stat) return;
    try {
      // A copy quarantined earlier is replaced: the latest bad copy is the one worth looking at.
      await this.copy(source, `${this.prefix}quarantine/${algorithm}-${hex}`, stat.size);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await this.delete(digest);
  }

  async createUpload(id: string): Promise<UploadState> {
    this.uploadPrefix(id);
    // Nothing to create yet: the multipart upload starts with the first full part.
    return encodeState({ parts: [] });
  }

  async appendUpload(
    id: string,
    state: UploadState,
    offset: number,
    source: Readable,
  ): Promise<AppendResult> {
    const prefix = this.uploadPrefix(id);
    const upload = decodeState(state);
    if (uploadedSize(upload) !== offset) throw new UploadNotFoundError(id);
    const pending = new PendingBytes(this.buffered);
    const parts = [...upload.parts];
    let multipartId = upload.multipartId;
    let inFlight: Promise<void> | undefined;
    let appended = 0;
    try {
      // The tail the state refers to comes first: the next part starts with it.
      if (upload.tail && upload.tail.size > 0) {
        for await (const chunk of await this.uploadObject(id, upload.tail.key)) pending.push(chunk as Buffer);
      }
      for await (const chunk of source) {
        appended += (chunk as Buffer).length;
        pending.push(chunk as Buffer);
        while (pending.size >= this.partSize) {
          const body = pending.take(this.partSize);
          // At most one part in flight: the source waits meanwhile, which bounds memory.
          if (inFlight) await inFlight;
          inFlight = undefined;
          multipartId ??= await this.startMultipart(`${prefix}data`);
          const number = parts.length + 1;
          if (number > MAX_PARTS) throw tooLarge(this.partSize);
          const started = this.uploadPart(`${prefix}data`, multipartId, number, body).then((etag) => {
            parts.push({ number, etag, size: body.length });
            pending.release(body.length);
          });
          // Awaited before the next part or at the end; marked handled so a failure while the source is
          // still being read is not reported as unhandled.
          started.catch(() => undefined);
          inFlight = started;
        }
      }
      if (inFlight) await inFlight;
      inFlight = undefined;
      if (appended === 0) return { size: offset, state };
      const size = offset + appended;
      const rest = pending.take(pending.size);
      let tail: S3Upload["tail"];
      if (rest.length > 0) {
        // Keyed by the size it completes and a nonce: a later failed request never overwrites a tail a
        // persisted state refers to (every later state is longer), nor does a writer that lost its lease
        // and wrote the same length at the same moment as the one that took the upload over.
        tail = { key: `${prefix}tail-${size}-${randomBytes(6).toString("hex")}`, size: rest.length };
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: tail.key,
            Body: rest,
            ContentLength: rest.length,
          }),
        );
        pending.release(rest.length);
      }
      return { size, state: encodeState({ multipartId, parts, tail }) };
    } catch (err) {
      if (inFlight) await inFlight.catch(() => undefined);
      throw mapWriteError(err, id);
    } finally {
      pending.clear();
    }
  }

  async readUpload(id: string, state: UploadState, size: number): Promise<Readable> {
    const upload = decodeState(state);
    if (size === 0) return Readable.from([]);
    const range = { start: 0, end: size - 1 };
    // Parts of a multipart upload cannot be read before it is completed: reading seals the upload,
    // which commitUpload recognises (reading precedes completing or discarding it).
    if (upload.multipartId !== undefined) {
      await this.seal(id, upload);
      return this.uploadObject(id, `${this.uploadPrefix(id)}data`, range);
    }
    if (!upload.tail) throw new UploadNotFoundError(id);
    return this.uploadObject(id, upload.tail.key, range);
  }

  async commitUpload(id: string, state: UploadState, digest: string, size: number): Promise<void> {
    const prefix = this.uploadPrefix(id);
    const upload = decodeState(state);
    if (uploadedSize(upload) !== size) throw new UploadNotFoundError(id);
    const target = this.blobKey(digest);
    try {
      if (upload.multipartId !== undefined) {
        await this.seal(id, upload);
        await this.copy(`${prefix}data`, target, size);
      } else if (upload.tail) {
        await this.copy(upload.tail.key, target, size);
      } else {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: target, Body: Buffer.alloc(0), ContentLength: 0 }),
        );
      }
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      throw mapWriteError(err, id);
    }
    await this.deleteUpload(id, state);
  }

  async deleteUpload(id: string, _state: UploadState | null): Promise<void> {
    // Everything under the prefix, not only what the state names: a failed request may have started a
    // multipart upload or written a tail no state refers to.
    const prefix = this.uploadPrefix(id);
    for await (const page of this.multipartPages(prefix)) {
      for (const entry of page) {
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: entry.Key,
              UploadId: entry.UploadId,
            }),
          )
          .catch((err: unknown) => {
            if (errorName(err) !== "NoSuchUpload") throw err;
          });
      }
    }
    for await (const page of this.objectPages(prefix)) {
      await deleteObjects(
        page.map((object) => object.Key ?? ""),
        (key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
      );
    }
  }

  async listBlobs(after: string | undefined, limit: number): Promise<StoredBlob[]> {
    // Keys are `blobs/<alg>/<first two hex>/<hex>`, which sort as the digests do.
    const root = `${this.prefix}blobs/`;
    const found: StoredBlob[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: root,
          MaxKeys: Math.min(1000, limit - found.length),
          ...(token ? { ContinuationToken: token } : after ? { StartAfter: this.blobKey(after) } : {}),
        }),
      );
      for (const object of page.Contents ?? []) {
        const [algorithm = "", prefix = "", hex = "", ...rest] = (object.Key ?? "")
          .slice(root.length)
          .split("/");
        if (rest.length > 0 || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]{32,128}$/.test(hex)) continue;
        if (!hex.startsWith(prefix)) continue;
        found.push({
          digest: `${algorithm}:${hex}`,
          size: object.Size ?? 0,
          modified: object.LastModified ?? new Date(),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && found.length < limit);
    return found;
  }

  async listUploads(before: Date): Promise<string[]> {
    const root = `${this.prefix}uploads/`;
    // An upload's newest activity: its newest object, or when a multipart upload of it was started.
    const newest = new Map<string, number>();
    const note = (key: string | undefined, time: Date | undefined) => {
      const id = key?.slice(root.length).split("/")[0];
      if (!id || !UPLOAD_ID.test(id)) return;
      newest.set(id, Math.max(newest.get(id) ?? 0, time?.getTime() ?? Date.now()));
    };
    for await (const page of this.objectPages(root)) for (const o of page) note(o.Key, o.LastModified);
    for await (const page of this.multipartPages(root)) for (const u of page) note(u.Key, u.Initiated);
    return [...newest].filter(([, time]) => time < before.getTime()).map(([id]) => id);
  }

  /** Completes the multipart upload into `uploads/<id>/data`, the tail as its last part. */
  private async seal(id: string, upload: S3Upload): Promise<void> {
    const key = `${this.uploadPrefix(id)}data`;
    const multipartId = upload.multipartId ?? "";
    const parts: CompletedPart[] = upload.parts.map((p) => ({ PartNumber: p.number, ETag: p.etag }));
    try {
      if (upload.tail && upload.tail.size > 0) {
        const number = upload.parts.length + 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: multipartId,
            PartNumber: number,
            CopySource: this.copySource(upload.tail.key),
          }),
        );
        parts.push({ PartNumber: number, ETag: copied.CopyPartResult?.ETag ?? "" });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: multipartId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      if (errorName(err) !== "NoSuchUpload") throw err;
      // Sealed already (an earlier readUpload, or a commit that failed after completing): the data
      // object is the upload if it has the state's size.
      const head = await this.client
        .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
        .catch(() => undefined);
      if (head?.ContentLength !== uploadedSize(upload)) throw new UploadNotFoundError(id);
    }
  }

  /** Server-side copy, atomic for the target: one CopyObject, or a multipart copy above 5 GiB. */
  private async copy(source: string, target: string, size: number): Promise<void> {
    const CopySource = this.copySource(source);
    if (size <= MAX_SINGLE_COPY) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource }));
      return;
    }
    const multipartId = await this.startMultipart(target);
    try {
      const parts: CompletedPart[] = [];
      for (let start = 0, number = 1; start < size; start += COPY_PART_SIZE, number++) {
        const end = Math.min(start + COPY_PART_SIZE, size) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: target,
            UploadId: multipartId,
            PartNumber: number,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ PartNumber: number, ETag: copied.CopyPartResult?.ETag ?? "" });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: target,
          UploadId: multipartId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: multipartId }))
        .catch(() => undefined);
      throw err;
    }
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  }

  private async startMultipart(key: string): Promise<string> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    if (!created.UploadId) throw new Error(`S3 returned no upload id for ${key}`);
    return created.UploadId;
  }

  private async uploadPart(key: string, multipartId: string, number: number, body: Buffer): Promise<string> {
    const result = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: multipartId,
        PartNumber: number,
        Body: body,
        ContentLength: body.length,
      }),
    );
    if (!result.ETag) throw new Error(`S3 returned no ETag for part ${number} of ${key}`);
    return result.ETag;
  }

  private async getObject(key: string, range?: ByteRange): Promise<Readable> {
    const result = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }),
    );
    if (!(result.Body instanceof Readable)) throw new Error(`S3 returned no body for ${key}`);
    return result.Body;
  }

  private async uploadObject(id: string, key: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.getObject(key, range);
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      throw err;
    }
  }

  private async *objectPages(prefix: string) {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      yield page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async *multipartPages(prefix: string) {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      yield page.Uploads ?? [];
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) return;
    }
  }
}

/**
 * Bytes received and not yet sent to S3, as the chunks they arrived in (no copy until a part is cut),
 * counted into the store's meter.
 */
class PendingBytes {
  private chunks: Buffer[] = [];
  size = 0;
  private held = 0;

  constructor(private readonly meter: { current: number; peak: number }) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.hold(chunk.length);
  }

  /** The first `length` bytes as one buffer; still counted until release() (sent, or dropped). */
  take(length: number): Buffer {
    const parts: Buffer[] = [];
    let needed = length;
    while (needed > 0) {
      const chunk = this.chunks[0] as Buffer;
      if (chunk.length <= needed) {
        parts.push(chunk);
        this.chunks.shift();
        needed -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, needed));
        this.chunks[0] = chunk.subarray(needed);
        needed = 0;
      }
    }
    this.size -= length;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length);
  }

  release(length: number): void {
    this.held -= length;
    this.meter.current -= length;
  }

  /** Forgets everything still held (the request ended, either way). */
  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.meter.current -= this.held;
    this.held = 0;
  }

  private hold(length: number): void {
    this.held += length;
    this.meter.current += length;
    this.meter.peak = Math.max(this.meter.peak, this.meter.current);
  }
}

function s3Client(options: S3StoreOptions, endpoint: string | undefined): S3Client {
  return new S3Client({
    endpoint,
    region: options.region ?? chainRegion,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    // Checksums only where S3 requires them: the streaming checksum encoding is not implemented by
    // every S3-compatible server (Swift answers 501), and digests are verified by the registry anyway.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // A pull streamed through the node holds its connection for the whole blob: the SDK's default of 50
    // would make the 51st concurrent pull (and every HeadObject behind it) wait.
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    },
  });
}

let chainRegionLookup: Promise<string> | undefined;

/**
 * The AWS chain's region (AWS_REGION, ~/.aws/config), else us-east-1: S3-compatible stores rarely care,
 * and the SDK would refuse every request without one.
 */
function chainRegion(): Promise<string> {
  chainRegionLookup ??= (async () => {
    const probe = new S3Client({});
    try {
      return (await probe.config.region()) || "us-east-1";
    } catch {
      return "us-east-1";
    } finally {
      probe.destroy();
    }
  })();
  return chainRegionLookup;
}

/**
 * One request per object: DeleteObjects needs a Content-MD5 header the current SDK no longer sends and
 * some S3-compatible servers require; an upload has few objects (parts live in the multipart upload).
 */
async function deleteObjects(keys: string[], remove: (key: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    await Promise.all(
      keys
        .slice(i, i + DELETE_CONCURRENCY)
        .filter(Boolean)
        .map(remove),
    );
  }
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  if (name === "NotFound" || name === "NoSuchKey") return true;
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

/** S3's refusals that mean "no room" become StorageFullError (507); a lost upload UploadNotFoundError. */
function mapWriteError(err: unknown, id: string): unknown {
  const name = errorName(err);
  if (name === "NoSuchUpload") return new UploadNotFoundError(id);
  if (name === "EntityTooLarge" || name === "QuotaExceeded" || name === "InsufficientStorage") {
    return new StorageFullError(`blob storage refused the write (${name})`, { cause: err });
  }
  return err;
}

function tooLarge(partSize: number): StorageFullError {
  return new StorageFullError(
    `the upload is larger than S3 allows in ${MAX_PARTS} parts of ${partSize} bytes`,
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
