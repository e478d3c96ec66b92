/**
 * Listen addresses as the serve lifecycle reads and prints them. `http://*:PORT` means every
 * interface; the printed form keeps `*` and puts IPv6 hosts in brackets, with the real port.
 */

/** `http://HOST:PORT` → host (undefined for `*`, IPv6 without brackets) and port. */
export function splitListen(address: string): { host: string | undefined; port: number } {
  const match = /^http:\/\/(.+):(\d+)$/.exec(address);
  if (!match) throw new TypeError(`listen address ${JSON.stringify(address)} must look like http://HOST:PORT`);
  const host = match[1]!;
  return { host: host === '*' ? undefined : host.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** The printed URL for a bound address: `http://*:PORT` for every interface. */
export function listeningUrl(host: string | undefined, port: number): string {
  return `http://${host === undefined ? '*' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A URL a person can open for a printed address: `http://*:3000` (every interface) is not one, so
 * it gets `http://localhost:3000`; any other address is reachable as printed (undefined).
 */
export function reachableUrl(printed: string): string | undefined {
  const match = /^http:\/\/(\*|0\.0\.0\.0|\[::\]):(\d+)$/.exec(printed);
  return match ? `http://localhost:${match[2]}` : undefined;
}
