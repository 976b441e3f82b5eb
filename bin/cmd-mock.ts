import { parseHostPort, stringFlag, UsageError } from '../common/index.js';
import { FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/index.js';
import { compileExchangeFilter, createMockServer, readRecording } from '../record/index.js';
import type { Command } from './command.js';

const help = `Serve recorded responses as a mock server (HTTP/1.1, h2c and gRPC on one port).

Usage: meshtap mock FILE --listen ADDR [--match body] [--passthrough URL] [filters]

A request is answered by a recorded exchange with the same method and path (query included);
with --match body, also the same request body. Repeated requests cycle through the recorded
responses in order. Unmatched requests get 404 (gRPC: UNIMPLEMENTED), or go to --passthrough.
Responses carry a current Date header (the recorded one is replaced by the time of serving, as
a real server's would be); --keep-date serves the recorded headers unchanged.

${FILTER_HELP}

Flags:
      --listen ADDR         where to listen, HOST:PORT (e.g. 127.0.0.1:8080; port 0 = any)
      --match MODE          default (method + path + query) or body (adds a body hash)
      --passthrough URL     send unmatched requests to this upstream (http://host:port):
                            HTTP via http2-proxy (upstream HTTP/1.1), gRPC via HTTP/2
      --keep-date           serve the recorded Date header as recorded (and none where none
                            was recorded), for byte-exact replays; default: the current time
      --lenient             skip malformed lines of FILE instead of failing

Prints 'listening HOST:PORT' on stderr once ready; Ctrl-C stops it.

Example:
  meshtap mock payments.jsonl --listen 127.0.0.1:9090 --passthrough http://127.0.0.1:9091
`;

const command: Command = {
  spec: {
    name: 'mock',
    summary: 'serve recorded responses as a mock server',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      listen: { type: 'string' },
      match: { type: 'string' },
      passthrough: { type: 'string' },
      lenient: { type: 'boolean' },
      'keep-date': { type: 'boolean' },
    },
  },
  async run(args) {
    if (args.positionals.length !== 1) throw new UsageError("mock: give one recording FILE (e.g. 'meshtap mock traffic.jsonl --listen 127.0.0.1:8080')");
    const listenText = stringFlag(args, 'listen');
    if (!listenText) throw new UsageError('mock: where to listen? give --listen HOST:PORT (e.g. 127.0.0.1:8080)');
    const listen = parseHostPort(listenText, '--listen');
    const match = stringFlag(args, 'match', undefined, 'default');
    if (match !== 'default' && match !== 'body') throw new UsageError(`--match: '${match}' is not default or body`);
    const passthrough = stringFlag(args, 'passthrough');
    if (passthrough !== undefined) {
      let u: URL;
      try {
        u = new URL(passthrough);
      } catch {
        throw new UsageError(`--passthrough: '${passthrough}' is not a URL; use e.g. http://127.0.0.1:9091`);
      }
      if (u.protocol !== 'http:') throw new UsageError(`--passthrough: only http:// upstreams are supported, not ${u.protocol}`);
    }
    const recording = await readRecording(args.positionals[0]!, { lenient: args.values.lenient === true });
    for (const issue of recording.issues) process.stderr.write(`meshtap: warning: ${issue.message}\n`);
    const exchanges = recording.exchanges.filter(compileExchangeFilter(filtersFromArgs(args)));
    const mock = createMockServer(exchanges, { match, passthrough, keepDate: args.values['keep-date'] === true });
    const addr = await mock.listen(listen.port, listen.host);
    process.stderr.write(`meshtap: serving ${exchanges.length} recorded exchange${exchanges.length === 1 ? '' : 's'}\nlistening ${addr.host}:${addr.port}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await mock.close();
    const s = mock.stats;
    process.stderr.write(`meshtap: served ${s.served}, unmatched ${s.unmatched}, passed through ${s.passedThrough}\n`);
    return 0;
  },
};
export default command;
