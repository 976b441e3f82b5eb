/**
 * Test-only: run a real client against a real server through the capturing tee and return
 * the conversation's log (the first connection's, or all of them).
 */
import { startTee } from './tee.js';
import type { LoggedChunk } from './recording-sink.js';

/** Runs `client(port)` against `serverPort` through a tee; resolves once every connection closed. */
export async function captureConversations(
  serverPort: number,
  client: (teePort: number) => Promise<void>,
): Promise<LoggedChunk[][]> {
  const tee = await startTee(serverPort);
  try {
    await client(tee.port);
    await tee.settled();
    return tee.connections;
  } finally {
    await tee.close();
  }
}

export async function captureConversation(
  serverPort: number,
  client: (teePort: number) => Promise<void>,
): Promise<LoggedChunk[]> {
  const conns = await captureConversations(serverPort, client);
  if (conns.length !== 1) throw new Error(`expected one connection, saw ${conns.length}`);
  return conns[0]!;
}
