/**
 * The demo page's HTML body: a broker URL field, a live `/stats` strip and one panel per
 * pattern. Element ids are what `client.ts` (and the browser test) use; keep them stable.
 */
export const DEMO_MARKUP = String.raw`
<header class="top">
  <h1>broker-hono <span class="muted">demo</span></h1>
  <form id="broker-form" class="broker" autocomplete="off">
    <label for="broker-url">Broker URL</label>
    <div class="row">
      <input id="broker-url" type="url" spellcheck="false" required>
      <button id="broker-use" type="submit">Use</button>
    </div>
    <input id="broker-token" type="password" aria-label="Token" placeholder="token (JWT), when the broker wants one" spellcheck="false">
    <p class="hint">Every new connection and the stats below use this broker. A page served by one broker can talk to another.</p>
  </form>
  <section id="stats" class="stats" aria-label="Broker statistics">
    <div class="stats-head"><span id="stats-state" class="state" data-state="connecting">connecting</span> <span id="stats-url" class="url"></span></div>
    <dl id="stats-values"></dl>
  </section>
</header>

<main class="panels">
  <section id="pubsub" class="panel">
    <h2>Pub/sub</h2>
    <p class="hint">A subscriber gets what is published to its topic <em>and every child topic</em>: <code>wong</code> gets <code>wong/amy</code>.</p>
    <form id="sub-form" class="row" autocomplete="off">
      <label class="grow">Topic <input id="sub-topic" value="wong" spellcheck="false"></label>
      <label><input id="sub-resume" type="checkbox"> ids and resume</label>
      <button id="sub-add" type="submit">Subscribe</button>
    </form>
    <div id="sub-list" class="conns" aria-live="polite"></div>
    <form id="pub-form" class="publish" autocomplete="off">
      <div class="row">
        <label class="grow">Publish to <input id="pub-topic" value="wong/amy" spellcheck="false"></label>
      </div>
      <label>Message <textarea id="pub-message" rows="2">hello from wong/amy</textarea></label>
      <div class="row">
        <label class="check"><input id="pub-binary" type="checkbox"> as binary</label>
        <button id="pub-send" type="submit">Publish</button>
      </div>
      <output id="pub-result" class="result"></output>
    </form>
  </section>

  <section id="bus" class="panel">
    <h2>Bus</h2>
    <p class="hint">Peers on exactly the same topic hear each other; with <em>echo</em> a peer also hears itself.</p>
    <form id="bus-form" class="row" autocomplete="off">
      <label class="grow">Topic <input id="bus-topic" value="chat" spellcheck="false"></label>
      <label class="check"><input id="bus-echo" type="checkbox"> echo</label>
      <button id="bus-add" type="submit">Add peer</button>
    </form>
    <div id="bus-list" class="conns" aria-live="polite"></div>
  </section>

  <section id="pushpull" class="panel">
    <h2>Push/pull</h2>
    <p class="hint">Each message goes to exactly one puller, round robin in the order they connected. With no puller, messages wait.</p>
    <form id="pull-form" class="row" autocomplete="off">
      <label class="grow">Topic <input id="pull-topic" value="jobs" spellcheck="false"></label>
      <button id="pull-add" type="submit">Add puller</button>
    </form>
    <div id="pull-list" class="conns" aria-live="polite"></div>
    <form id="push-form" class="publish" autocomplete="off">
      <div class="row">
        <label class="grow">Message <input id="push-message" value="job" spellcheck="false"></label>
        <label class="narrow">Count <input id="push-count" type="number" min="1" max="100" value="6"></label>
        <button id="push-send" type="submit">Push</button>
      </div>
      <output id="push-result" class="result"></output>
    </form>
    <h3>Who got what</h3>
    <ol id="push-deliveries" class="deliveries"></ol>
  </section>

  <section id="sse" class="panel">
    <h2>Server-Sent Events</h2>
    <p class="hint">The same subscription over plain HTTP with <code>EventSource</code>: same hierarchy, binary as base64.</p>
    <form id="sse-form" class="row" autocomplete="off">
      <label class="grow">Topic <input id="sse-topic" value="wong" spellcheck="false"></label>
      <button id="sse-add" type="submit">Subscribe</button>
    </form>
    <div id="sse-list" class="conns" aria-live="polite"></div>
    <form id="sse-pub-form" class="publish" autocomplete="off">
      <div class="row">
        <label class="grow">Publish to <input id="sse-pub-topic" value="wong/sse" spellcheck="false"></label>
      </div>
      <label>Message <textarea id="sse-pub-message" rows="2">line one
line two</textarea></label>
      <div class="row">
        <label class="check"><input id="sse-pub-binary" type="checkbox"> as binary</label>
        <button id="sse-pub-send" type="submit">Publish</button>
      </div>
      <output id="sse-pub-result" class="result"></output>
    </form>
  </section>
</main>

<template id="conn-template">
  <article class="conn" data-state="connecting">
    <div class="conn-head">
      <strong class="name"></strong>
      <span class="state">connecting</span>
      <button class="close" type="button" aria-label="Close">close</button>
    </div>
    <div class="url"></div>
    <div class="error" hidden></div>
    <form class="send row" hidden autocomplete="off">
      <input class="grow" aria-label="Message to send" spellcheck="false">
      <button type="submit">Send</button>
    </form>
    <ol class="log"></ol>
  </article>
</template>
`;
