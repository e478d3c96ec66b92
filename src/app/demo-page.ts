/**
 * The development-mode page at `/`: try every pattern by hand (pub/sub, bus, push/pull, SSE),
 * against this broker or another one, with a live view of `/stats`.
 *
 * Plain HTML, CSS and browser JavaScript kept as string modules in `demo/` (so they ship in
 * `dist/` and serve on Deno and Bun without file I/O), put together into one response: no
 * build step, nothing fetched from elsewhere, and no asset paths that would break when the
 * broker is mounted under a prefix.
 */
import { DEMO_MARKUP } from './demo/markup.ts';
import { DEMO_STYLE } from './demo/style.ts';
import { DEMO_CLIENT } from './demo/client.ts';
import { CLIENT_SCRIPT } from './client-script.ts';

// The client library (client-script.ts) comes inline too, as a module that hands `createClient`
// to the page's script (for subscribers with "ids and resume").
let page: string | undefined;

export function demoPage(): string {
  return (page ??= `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>broker-hono demo</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%232457c5'/%3E%3C/svg%3E">
<style>${DEMO_STYLE}</style>
</head>
<body>
${DEMO_MARKUP}
<script type="module">${CLIENT_SCRIPT}
globalThis.brokerHonoClient = { createClient };
</script>
<script>${DEMO_CLIENT}</script>
</body>
</html>
`);
}
