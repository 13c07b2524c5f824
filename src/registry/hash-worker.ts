/**
 * The thread that hashes upload bytes (see hash-pool.ts): resumable SHA-256 (hash-wasm, whose state can
 * be saved and restored on any node) off the event loop, which stays free to move bytes.
 */
import { parentPort } from "node:worker_threads";
import { createSHA256, type IHasher } from "hash-wasm";
import type { HashReply, HashRequest } from "./hash-protocol.js";

const hashes = new Map<number, IHasher>();
const port = parentPort;
if (!port) throw new Error("hash-worker.js runs as a worker thread");

port.on("message", (message: HashRequest) => {
  void handle(message).then(
    (reply) => port.postMessage(reply),
    (err: unknown) =>
      port.postMessage({ id: message.id, seq: message.seq, error: String(err) } satisfies HashReply),
  );
});

async function handle(message: HashRequest): Promise<HashReply> {
  const { id, seq } = message;
  switch (message.op) {
    case "open": {
      const hasher = await createSHA256();
      hasher.init();
      if (message.state) hasher.load(new Uint8Array(message.state));
      hashes.set(id, hasher);
      return { id, seq };
    }
    case "update":
      required(id).update(new Uint8Array(message.data));
      return { id, seq, bytes: message.data.byteLength };
    case "save": {
      const state = required(id).save();
      const copy = new ArrayBuffer(state.byteLength);
      new Uint8Array(copy).set(state);
      return { id, seq, state: copy };
    }
    case "digest": {
      const hex = required(id).digest("hex");
      hashes.delete(id);
      return { id, seq, hex };
    }
    case "close":
      hashes.delete(id);
      return { id, seq };
  }
}

function required(id: number): IHasher {
  const hasher = hashes.get(id);
  if (!hasher) throw new Error(`no hash ${id}`);
  return hasher;
}
