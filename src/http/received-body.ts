import { Readable, finished } from "node:stream";
import { IncompleteBodyError } from "../registry/declared-length.js";

const HIGH_WATER_MARK = 1024 * 1024;

/**
 * A request body as the registry should read it. It flows only once the registry reads (a request
 * refused first never has its body pulled into memory), and it is not joined to the request in a
 * pipeline: a failure downstream (a refused chunk, a full disk) must not destroy the request, which cuts
 * the connection before the error response goes out. Destroying the returned stream discards the rest
 * of the body instead. A request that breaks off fails the stream with IncompleteBodyError.
 */
export function receiveBody(request: Readable): Readable {
  const onData = (chunk: Buffer) => {
    if (!received.push(chunk)) request.pause();
  };
  const onEnd = () => received.push(null);
  let flowing = false;
  let brokenOff: Error | undefined;
  const broke = () => new IncompleteBodyError(brokenOff?.message ?? "the request broke off");
  const received = new Readable({
    highWaterMark: HIGH_WATER_MARK,
    read() {
      if (brokenOff) {
        this.destroy(broke());
        return;
      }
      if (!flowing) {
        flowing = true;
        request.on("data", onData).once("end", onEnd);
      }
      request.resume();
    },
    destroy(err, callback) {
      request.off("data", onData).off("end", onEnd);
      if (flowing && !request.readableEnded) request.resume(); // discard the rest
      callback(err);
    },
  });
  finished(request, (err) => {
    if (!err) return;
    brokenOff = err;
    // Only a stream being read fails at once: an error with no reader would be an uncaught one.
    if (flowing && !received.destroyed) received.destroy(broke());
  });
  return received;
}
