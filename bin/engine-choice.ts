/**
 * Which data path engine `meshtap proxy`, `run` and `demo` start (issue 14): `--engine` or
 * MESHTAP_ENGINE when given; otherwise native wherever the addon is built, and js where it is not,
 * with one line saying so and how to build it. Falling back is not an error (explicit mode must
 * work on a machine without a C++ toolchain), but it is said, so nobody measures the js engine
 * believing it is the native one. An explicit `--engine native` without the addon stays an error:
 * the user asked for what this build cannot do.
 */
import { MeshtapError, stringFlag, UsageError, type ParsedArgs } from '../common/index.js';

export type EngineName = 'js' | 'native';

export interface EngineChoice {
  engine: EngineName;
  /** Set when the default fell back to js: the one line to print on stderr. */
  fallbackNote?: string;
}

/** Resolves `--engine` / MESHTAP_ENGINE / the default for `command` (`proxy`, `run`, `demo`). */
export async function chooseEngine(args: ParsedArgs, command: string): Promise<EngineChoice> {
  const asked = stringFlag(args, 'engine', 'MESHTAP_ENGINE');
  // Name what the user set: the flag, or the variable they may have forgotten in their shell.
  const source = typeof args.values.engine === 'string' ? '--engine' : 'MESHTAP_ENGINE';
  if (asked !== undefined && asked !== 'js' && asked !== 'native') {
    throw new UsageError(`${command}: ${source} takes js or native, not '${asked}'`);
  }
  if (asked === 'js') return { engine: 'js' };
  const { isNativeAvailable, nativeUnavailableReason } = await import('../native/index.js');
  if (isNativeAvailable()) return { engine: 'native' };
  const reason = nativeUnavailableReason() ?? 'unavailable';
  if (asked === 'native') {
    const said = source === '--engine' ? '--engine native' : 'MESHTAP_ENGINE=native';
    throw new MeshtapError('MT_NATIVE_MISSING', `${command}: ${said} needs the native addon, which is ${reason}; build it with 'bash scripts/build-native.sh' or use --engine js`);
  }
  return {
    engine: 'js',
    fallbackNote: `meshtap ${command}: running the js engine: the native addon (the default engine) is ${reason}; build it with 'bash scripts/build-native.sh', or pass --engine js to choose js without this line`,
  };
}
