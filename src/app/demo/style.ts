/**
 * The demo page's CSS: a grid of panels that collapses to one column on a phone, light and dark
 * colour schemes, no web fonts (nothing is fetched from elsewhere).
 */
export const DEMO_STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #fff; --text: #1b1f24; --muted: #5b6573; --line: #d9dde3;
  --accent: #2457c5; --ok: #1a7f37; --bad: #c62828; --wait: #9a6700; --code: #eef1f5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --panel: #1a1f26; --text: #e6e9ee; --muted: #9aa4b2; --line: #2d3440;
    --accent: #7aa2ff; --ok: #4cc56a; --bad: #ff6b6b; --wait: #e3b341; --code: #232a33;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.35rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 0 0 .25rem; }
h3 { font-size: .95rem; margin: .75rem 0 .25rem; }
code { background: var(--code); padding: 0 .25em; border-radius: 3px; font-size: .9em; }
.muted, .hint { color: var(--muted); }
.hint { font-size: .85rem; margin: .25rem 0 .5rem; }
.top { padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.broker { max-width: 48rem; }
.broker label { font-weight: 600; font-size: .9rem; }
.row { display: flex; flex-wrap: wrap; gap: .4rem; align-items: end; }
.grow { flex: 1 1 10rem; min-width: 0; }
.narrow { flex: 0 0 5.5rem; }
label { display: flex; flex-direction: column; gap: .15rem; font-size: .85rem; color: var(--muted); }
label.check { flex-direction: row; align-items: center; gap: .3rem; padding-bottom: .45rem; color: var(--text); }
input, textarea, button { font: inherit; color: inherit; }
input:not([type=checkbox]), textarea { width: 100%; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
#broker-url { flex: 1 1 16rem; width: auto; }
textarea { resize: vertical; }
button { padding: .4rem .8rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; white-space: nowrap; }
button:hover { filter: brightness(1.1); }
button.close { background: none; color: var(--muted); border-color: var(--line); padding: .1rem .5rem; font-size: .8rem; margin-left: auto; }
.stats { margin-top: .6rem; }
.stats-head { font-size: .85rem; }
.stats dl { display: flex; flex-wrap: wrap; gap: .3rem; margin: .35rem 0 0; }
.stats dl div { background: var(--code); border-radius: 6px; padding: .15rem .5rem; font-size: .8rem; }
.stats dt { display: inline; color: var(--muted); }
.stats dd { display: inline; margin: 0 0 0 .3rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.panels { display: grid; grid-template-columns: 1fr; gap: .8rem; padding: .8rem; align-items: start; }
@media (min-width: 46rem) { .panels { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
@media (min-width: 100rem) { .panels { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: .8rem; min-width: 0; }
.conns { display: flex; flex-direction: column; gap: .5rem; margin: .5rem 0; }
.conn { border: 1px solid var(--line); border-left: 4px solid var(--wait); border-radius: 8px; padding: .4rem .55rem; }
.conn[data-state=open] { border-left-color: var(--ok); }
.conn[data-state=closed], .conn[data-state=error] { border-left-color: var(--bad); }
.conn-head { display: flex; gap: .5rem; align-items: center; }
/* A topic is one long word to the browser: let it break anywhere rather than widen the page. */
.conn-head .name { min-width: 0; overflow-wrap: anywhere; }
.state { font-size: .8rem; padding: 0 .4rem; border-radius: 999px; background: var(--code); }
[data-state=open] > .conn-head .state, .state[data-state=live] { color: var(--ok); }
[data-state=closed] > .conn-head .state, [data-state=error] > .conn-head .state, .state[data-state=error] { color: var(--bad); }
.url { font: .78rem/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); overflow-wrap: anywhere; }
.error, .result.bad { color: var(--bad); font-size: .85rem; overflow-wrap: anywhere; }
.result { display: block; font-size: .85rem; min-height: 1.2em; margin-top: .3rem; color: var(--ok); overflow-wrap: anywhere; }
.send { margin: .35rem 0; }
.log, .deliveries { list-style: none; margin: .3rem 0 0; padding: 0; max-height: 11rem; overflow-y: auto; font: .82rem/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.log li, .deliveries li { padding: .1rem .3rem; border-top: 1px dashed var(--line); white-space: pre-wrap; overflow-wrap: anywhere; }
.log li.out { color: var(--muted); }
.log li.note { color: var(--muted); font-style: italic; }
.deliveries { display: flex; flex-wrap: wrap; gap: .25rem; max-height: none; }
.deliveries li { border: 1px solid var(--line); border-radius: 6px; }
@media (max-width: 30rem) {
  body { font-size: 14px; }
  .top, .panels { padding: .6rem; }
  .panel { padding: .6rem; }
}
`;
