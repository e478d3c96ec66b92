/**
 * Merges the layers of configuration (defaults < config file < environment < flags) and validates
 * them with the one zod schema, turning any problem into one line a user can act on.
 */
import { OptionsError, resolveOptions, type BrokerOptions, type BrokerOptionsInput } from '../options.ts';
import { UsageError, describeOptionForCli } from './args.ts';

/** Parses the config file's text; throws `UsageError` naming the file. */
export function parseConfigFile(path: string, text: string): BrokerOptionsInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`config file ${path} must hold a JSON object`);
  }
  try {
    resolveOptions(value);
  } catch (error) {
    if (error instanceof OptionsError) throw new UsageError(`config file ${path}: ${error.message}`);
    throw error;
  }
  return value as BrokerOptionsInput;
}

export function mergeConfiguration(layers: BrokerOptionsInput[]): BrokerOptions {
  const merged = Object.assign({}, ...layers) as BrokerOptionsInput;
  try {
    return resolveOptions(merged);
  } catch (error) {
    if (error instanceof OptionsError) {
      // "listen.0: ..." → "-l/--listen (listen): ...": name the option as the CLI user knows it,
      // by the layer whose value won (and was refused): a flag, or an environment variable.
      const path = error.message.split(':')[0]!;
      const option = path.split('.')[0]!;
      const source = layers.findLast((layer) => (layer as Record<string, unknown>)[option] !== undefined);
      throw new UsageError(path.includes(' ') ? error.message : describeOptionForCli(option, source) + error.message.slice(path.length));
    }
    throw error;
  }
}
