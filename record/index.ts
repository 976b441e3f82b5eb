/**
 * Recordings and what reads them: the format, crash-safe writer, tolerant reader, the record
 * loop, replay with diff and reports, the mock server, HAR conversion.
 */
export * from './format.js';
export { splitGrpcFrames, joinGrpcFrames, GRPC_FRAME_HEADER_BYTES } from './grpc-frames.js';
export { createRecordingWriter } from './recording-writer.js';
export type { RecordingWriter, RecordingWriterOptions } from './recording-writer.js';
export { readRecording, checkExchange, looksLikeHar, harConvertHint, MAX_LINE_BYTES } from './recording-reader.js';
export type { Recording, RecordingIssue, ReadOptions } from './recording-reader.js';
export { recordStream } from './record-stream.js';
export type { RecordLimits, RecordProgress, RecordResult, RecordStopReason } from './record-stream.js';
export { compileExchangeFilter } from './filter-match.js';
export { replayExchanges, buildReplayRequest } from './replay.js';
export type { ReplayOptions, RewriteOptions, ExchangeResult, ExchangeOutcome } from './replay.js';
export type { ReplayTiming } from './replay-schedule.js';
export { selectByDirection, describeSkipped } from './replay-direction.js';
export type { ReplayDirection, DirectionSelection } from './replay-direction.js';
export { probeTarget } from './replay-target.js';
export { diffExchange, diffObservations, DEFAULT_IGNORED_HEADERS } from './diff.js';
export type { Difference, DiffOptions } from './diff.js';
export { diffJson } from './json-mask.js';
export { summarize, formatText, formatJson, formatJunit } from './replay-report.js';
export type { ReplaySummary } from './replay-report.js';
export { createMockServer } from './mock-server.js';
export type { MockServer, MockOptions, MockStats } from './mock-server.js';
export { grpcCallKind } from './replay-grpc.js';
export { recordingToHar, harToRecording } from './har.js';
export type { Har, HarEntry } from './har.js';
