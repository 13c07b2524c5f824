import type { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Unread body bytes a refused request may still send before its connection is dropped: enough for an
 * honest client to finish the chunk it was writing (a streamed manifest just over 4 MiB, say) and read
 * the answer; a trickling one is cut by the time bound first.
 */
const DISCARD_LIMIT = 1024 * 1024;
/** How long the closing connection keeps reading, so the client can read the response first. */
const LINGER_MS = 2_000;

/**
 * A response sent before the request body was read to its end (401, 403, 404, 413, any early error)
 * closes the connection: otherwise Node drains the rest of the body to reuse the connection, and a
 * client trickling a huge Content-Length holds it for ever. As Distribution does: `Connection: close`,
 * then a bounded discard (at most 1 MiB, at most 2 s) so an honest client that is still sending gets
 * the response instead of a reset, then the socket is destroyed.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  const incoming = request.raw;
  if (incoming.complete || reply.raw.headersSent) return;
  const socket = incoming.socket as Socket | null;
  if (!socket || socket.destroyed) return;
  reply.header("Connection", "close");
  lingerOnClose(socket);
}

/**
 * Node ends a `Connection: close` socket with `destroySoon()` as soon as the response is written;
 * destroying it with request bytes still arriving answers them with a TCP reset, which can discard the
 * response before the client read it. Half-close instead, discard what still comes (bounded), then destroy.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => {
    const start = socket.bytesRead;
    let done = false;
    const destroy = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.destroy();
    };
    const onData = () => {
      if (socket.bytesRead - start > DISCARD_LIMIT) destroy();
    };
    const timer = setTimeout(destroy, LINGER_MS);
    timer.unref();
    socket.on("data", onData);
    socket.once("close", destroy);
    socket.end();
  };
}
