/**
 * Runs the engine's Lua scripts (`lua-scripts.ts`) by their SHA, so a call sends 40 bytes instead
 * of the source. The SHAs are loaded after every (re)connect; until then, and when someone has
 * flushed Redis's script cache since (NOSCRIPT), the source goes instead.
 */
import { SCRIPTS, type ScriptName } from './lua-scripts.ts';
import type { RedisTransport } from './transport.ts';

export class ScriptRunner {
  readonly #redis: RedisTransport;
  readonly #shas = new Map<ScriptName, string>();

  constructor(redis: RedisTransport) {
    this.#redis = redis;
  }

  /** Loads every script into Redis's cache (after each reconnect: a restarted Redis has none). */
  async load(): Promise<void> {
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      this.#shas.set(name, String(await this.#redis.command(['SCRIPT', 'LOAD', SCRIPTS[name]])));
    }
  }

  /** `binary`: bulk strings in the answer come as bytes (`RedisTransport.binaryCommand`). */
  run(name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | Uint8Array>, binary = false): Promise<unknown> {
    const sha = this.#shas.get(name);
    const tail = [String(keys.length), ...keys, ...args];
    const command = (commandArgs: Array<string | Uint8Array>) =>
      binary && this.#redis.binaryCommand ? this.#redis.binaryCommand(commandArgs) : this.#redis.command(commandArgs);
    if (!sha) return command(['EVAL', SCRIPTS[name], ...tail]);
    return command(['EVALSHA', sha, ...tail]).catch((error: unknown) => {
      // Someone flushed Redis's script cache: run the source (and let it be cached again).
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return command(['EVAL', SCRIPTS[name], ...tail]);
    });
  }
}
