/**
 * `meshtap version`. The tap API client and yaml are imported only when used: `--client` loads
 * common/ and this file, nothing else (test/version-cli.test.ts checks the modules it loads).
 */
import { buildInfo, MeshtapError, SOURCE_HELP, SOURCE_OPTIONS, stringFlag, UsageError, type BuildInfo } from '../common/index.js';
import type { ServerVersion, TapApiConnection } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Print the client and server versions (as kubectl version).

Usage: meshtap version [--client] [-o json|yaml] [--tap-api URL | --kubeconfig FILE]

The server is the tap API: the same one 'meshtap tap' talks to (--tap-api, MESHTAP_TAP_API, the
config file, or a kubeconfig through the cluster's API server). Without a reachable server, the
client version is printed and then one line saying why, with exit code 1.

Flags:
      --client              only this client's version (asks no server)
  -o, --output FORMAT       text (default), json, yaml: {clientVersion, serverVersion}
${SOURCE_HELP}

Each sidecar and node agent tells its own build on its admin port: curl http://ADMIN/version

Examples:
  meshtap version
  meshtap version --client -o json
  meshtap version --tap-api http://127.0.0.1:8089 -o yaml
`;

/** Major.minor of a version (`0.1.0` -> `0.1`). */
const minorOf = (v: string) => v.split('.').slice(0, 2).join('.');

async function render(output: string, client: BuildInfo, server?: ServerVersion): Promise<string> {
  const doc = { clientVersion: client, ...(server ? { serverVersion: server } : {}) };
  if (output === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  if (output === 'yaml') return (await import('yaml')).stringify(doc);
  return server ? `Server Version: ${server.version}\n` : `Client Version: ${client.version}\n`;
}

const command: Command = {
  spec: {
    name: 'version',
    summary: 'print the client and server (tap API) versions',
    help,
    options: {
      ...SOURCE_OPTIONS,
      client: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
    },
  },
  async run(args) {
    const output = stringFlag(args, 'output', undefined, 'text');
    if (output !== 'text' && output !== 'json' && output !== 'yaml') throw new UsageError(`version: -o takes text, json or yaml, not '${output}'`);
    const client = buildInfo();
    const clientOnly = args.values.client === true;
    // As kubectl: the client's version first, whatever happens to the server.
    if (clientOnly || output === 'text') process.stdout.write(await render(output, client));
    if (clientOnly) return 0;
    const { connectionFromArgs, fetchServerVersion } = await import('../tap-api/index.js');
    let connection: TapApiConnection;
    try {
      connection = connectionFromArgs('version', args);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      if (output !== 'text') process.stdout.write(await render(output, client));
      throw new MeshtapError('MT_NO_SERVER', 'no tap API to ask for its version: give --tap-api URL, set MESHTAP_TAP_API, or have a kubeconfig (--client prints only the client version)');
    }
    let server: ServerVersion;
    try {
      server = await fetchServerVersion(connection);
    } catch (err) {
      if (output !== 'text') process.stdout.write(await render(output, client));
      if (err instanceof MeshtapError && err.code === 'MT_NOT_FOUND') {
        throw new MeshtapError('MT_NOT_FOUND', `the tap API has no version endpoint (it is older than this client ${client.version}): ${err.message}`, { cause: err });
      }
      throw err;
    }
    process.stdout.write(await render(output, client, server));
    if (minorOf(server.version) !== minorOf(client.version)) {
      process.stderr.write(`meshtap: warning: client ${client.version} and server ${server.version} differ in version; some commands may not work as documented\n`);
    }
    return 0;
  },
};
export default command;
