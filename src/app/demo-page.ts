/**
 * The development-mode page at `/`: a small form to try pub/sub by hand. Plain HTML and browser
 * JavaScript, no build step and nothing fetched from elsewhere.
 */
export function demoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>broker-hono</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; margin: 1rem auto; max-width: 40rem; padding: 0 1rem; }
  input, button { font: inherit; }
  #log { background: #f4f4f4; padding: .5rem; min-height: 6rem; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>broker-hono</h1>
<p>Subscribe to a topic, then publish to it or to a child topic.</p>
<form id="sub"><input id="sub-topic" value="wong" aria-label="subscribe topic"> <button>Subscribe</button></form>
<form id="pub"><input id="pub-topic" value="wong/amy" aria-label="publish topic"> <input id="pub-text" value="hello" aria-label="message"> <button>Publish</button></form>
<div id="log" role="log"></div>
<script>
const base = location.href.replace(/^http/, 'ws').replace(/\\/$/, '');
const log = (line) => { document.getElementById('log').textContent += line + '\\n'; };
document.getElementById('sub').onsubmit = (event) => {
  event.preventDefault();
  const topic = document.getElementById('sub-topic').value;
  const socket = new WebSocket(base + '/sub/' + topic);
  socket.onopen = () => log('subscribed to ' + topic);
  socket.onmessage = (message) => log(topic + ' ← ' + message.data);
  socket.onclose = (close) => log('closed ' + topic + ' (' + close.code + ')');
};
document.getElementById('pub').onsubmit = async (event) => {
  event.preventDefault();
  const topic = document.getElementById('pub-topic').value;
  const response = await fetch(location.pathname.replace(/\\/$/, '') + '/pub/' + topic, { method: 'POST', body: document.getElementById('pub-text').value });
  if (!response.ok) log('publish failed: ' + (await response.text()));
};
</script>
</body>
</html>`;
}
