/**
 * Recordings and what reads them: the format, crash-safe writer, tolerant reader, the record
 * loop, replay with diff and reports, the mock server, HAR conversion. This face carries what
 * other folders use; the folder's own tests import its files directly.
 */
export { createRecordingHeader, exchangeFromEvent, connectionKeyOf } from './format.js';
export type { RecordingHeader, RecordingSource, RecordedExchange, GrpcFrame } from './format.js';
export { createRecordingWriter } from './recording-writer.js';
export { createStdoutRecordingWriter } from './recording-stdout.js';
export type { RecordingWriter } from './recording-writer.js';
export { readRecording, looksLikeHar, harConvertHint } from './recording-reader.js';
export { recordStream } from './record-stream.js';
export type { RecordProgress, RecordStopReason } from './record-stream.js';
export { compileExchangeFilter } from './filter-match.js';
export { replayExchanges } from './replay.js';
export type { ExchangeResult } from './replay.js';
export type { ReplayTiming } from './replay-schedule.js';
export { selectByDirection, describeSkipped } from './replay-direction.js';
export type { ReplayDirection } from './replay-direction.js';
export { probeTarget } from './replay-target.js';
export { summarize, formatText, formatJson, formatJunit } from './replay-report.js';
export { createMockServer } from './mock-server.js';
export type { MockServer } from './mock-server.js';
export { recordingToHar, harToRecording } from './har.js';
