/**
 * A recording written to stdout (`meshtap record deploy/web -o -`), as `tcpdump -w -` writes
 * to a pipe: the header line, then each exchange line as it comes, uncompressed, so that
 * `| head`, `| jq` and `| gzip > f` work. Not crash-safe as a file is (there is no file to move
 * into place): a reader sees every whole line written so far.
 */
import type { RecordedExchange, RecordingHeader } from './format.js';
import type { RecordingWriter } from './recording-writer.js';

/** Where stdout lines go: process.stdout by default. */
export interface LineSink {
  write(data: string): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
}

/** The writer of `-o -`; `close()` and `abort()` leave stdout open (the process ends it). */
export function createStdoutRecordingWriter(header: RecordingHeader, out: LineSink = process.stdout): RecordingWriter {
  let count = 0;
  let bytes = 0;
  const put = async (line: string): Promise<void> => {
    bytes += Buffer.byteLength(line);
    // Backpressure as the file writer's: wait for the reader (or for it to go away).
    if (!out.write(line)) await new Promise<void>((resolve) => (out.once('drain', resolve), out.once('close', resolve)));
  };
  const started = put(JSON.stringify(header) + '\n');
  return {
    tempPath: '-',
    path: '-',
    get count() {
      return count;
    },
    get bytes() {
      return bytes;
    },
    async write(ex: RecordedExchange) {
      await started;
      count++;
      await put(JSON.stringify(ex) + '\n');
    },
    close: () => started,
    abort: () => started,
  };
}
