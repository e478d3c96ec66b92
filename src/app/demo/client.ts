/**
 * The demo page's browser JavaScript, served inline as it is written here (no build step).
 * Plain modern JS for any current browser; it is a string, so it must not contain a backtick
 * or a dollar-brace sequence.
 *
 * What it shows beyond "it works": the URL each connection went to, its state, and why a
 * connection was refused. A browser cannot read the body of a refused WebSocket upgrade, so on
 * a failed socket the page asks the broker over plain HTTP: a GET on the same route answers 400
 * with the topic rule broken (or 426 when the topic is fine), and an SSE probe on the same
 * topic shows an origin (401) or capacity (503) refusal, which guard WebSockets the same way.
 */
export const DEMO_CLIENT = String.raw`
'use strict';
(() => {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const LOG_LIMIT = 200;
  const STAT_LABELS = {
    connections: 'connections', subscribers: 'subscribers', publishers: 'publishers', peers: 'peers',
    pushers: 'pushers', pullers: 'pullers', topics: 'topics', queued: 'queued',
    messagesIn: 'in', messagesOut: 'out', slowConsumerDisconnects: 'slow consumers',
  };
  const numbers = { sub: 0, bus: 0, pull: 0, sse: 0 };

  // ---- the broker this page talks to -------------------------------------------------------
  const pageBase = location.origin + location.pathname.replace(/\/+$/, '');
  let broker = pageBase;
  const brokerInput = $('#broker-url');
  brokerInput.value = pageBase;
  brokerInput.addEventListener('input', () => brokerInput.setCustomValidity(''));
  $('#broker-form').addEventListener('submit', (event) => {
    event.preventDefault();
    let url;
    try {
      url = new URL(brokerInput.value.trim());
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      brokerInput.setCustomValidity('an http:// or https:// URL of a broker');
      brokerInput.reportValidity();
      return;
    }
    broker = url.origin + url.pathname.replace(/\/+$/, '');
    brokerInput.value = broker;
    refreshStats();
  });

  // A token (auth on) rides on every request as access_token: browsers cannot set headers on a
  // WebSocket or an EventSource. This page's own ?access_token= fills the field.
  const tokenInput = $('#broker-token');
  tokenInput.value = new URLSearchParams(location.search).get('access_token') || '';
  const withToken = (url) => {
    const token = tokenInput.value.trim();
    return token ? url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token) : url;
  };

  /** Each segment percent-encoded, so "café" or "50%" arrive as typed and "a//b" stays visible to the server. */
  const topicPath = (topic) => topic.split('/').map(encodeURIComponent).join('/');
  const httpUrl = (kind, topic, base) => (base || broker) + '/' + kind + '/' + topicPath(topic);
  const wsUrl = (kind, topic, base) => httpUrl(kind, topic, base).replace(/^http/, 'ws');

  async function errorText(response) {
    const text = await response.text();
    try {
      return JSON.parse(text).error || text;
    } catch {
      return text || response.statusText;
    }
  }

  // ---- rendering ---------------------------------------------------------------------------
  function hex(bytes) {
    const shown = Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return 'binary, ' + bytes.length + ' bytes: ' + shown + (bytes.length > 24 ? ' …' : '');
  }
  const describe = (data) => (typeof data === 'string' ? data : hex(new Uint8Array(data)));
  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /** A card for one connection: name, state, URL, error line, optional send form, message log. */
  function card(listId, name, url) {
    const node = $('#conn-template').content.firstElementChild.cloneNode(true);
    $('.name', node).textContent = name;
    $('.url', node).textContent = url;
    $('#' + listId).append(node);
    const log = $('.log', node);
    const view = {
      node,
      setState(state, label) {
        node.dataset.state = state;
        $('.state', node).textContent = label || state;
      },
      setError(text) {
        const line = $('.error', node);
        line.hidden = !text;
        line.textContent = text || '';
      },
      log(text, kind) {
        const item = document.createElement('li');
        item.textContent = text;
        if (kind) item.className = kind;
        log.append(item);
        while (log.children.length > LOG_LIMIT) log.firstElementChild.remove();
        log.scrollTop = log.scrollHeight;
      },
      /** The close button: closes the connection, then (pressed again) removes the card. */
      onClose(close) {
        const button = $('.close', node);
        button.addEventListener('click', () => {
          if (node.dataset.state === 'open' || node.dataset.state === 'connecting') {
            close();
            button.textContent = 'remove';
          } else {
            node.remove();
          }
        });
      },
    };
    return view;
  }

  /** Why did a WebSocket close before it opened? Asks the broker over HTTP (see the file comment). */
  async function explainRefusal(kind, topic, base, code, view) {
    view.setError('closed before opening (code ' + code + '); asking the broker why…');
    try {
      const plain = await fetch(withToken(httpUrl(kind, topic, base)));
      if (plain.status !== 426) {
        view.setError(plain.status + ': ' + (await errorText(plain)));
        return;
      }
      const probe = new AbortController();
      const sse = await fetch(withToken(httpUrl('sub', topic, base)), { headers: { accept: 'text/event-stream' }, signal: probe.signal });
      if (!sse.ok) {
        view.setError(sse.status + ': ' + (await errorText(sse)));
        return;
      }
      probe.abort();
      view.setError('closed before opening (code ' + code + '); the broker accepts this topic and origin');
    } catch (error) {
      view.setError('cannot reach ' + base + ': ' + error.message);
    }
  }

  /** Opens a WebSocket on kind/topic with a card in listId. */
  function openSocket(kind, topic, listId, name, options) {
    const base = broker;
    const url = wsUrl(kind, topic, base) + (options.query || '');
    const view = card(listId, name, url);
    let socket;
    try {
      socket = new WebSocket(withToken(url));
    } catch (error) {
      view.setState('error', 'invalid');
      view.setError(error.message);
      return view;
    }
    socket.binaryType = 'arraybuffer';
    let opened = false;
    view.onClose(() => socket.close(1000, 'closed by the page'));
    socket.addEventListener('open', () => {
      opened = true;
      view.setState('open');
      if (options.canSend) {
        const form = $('.send', view.node);
        form.hidden = false;
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          const input = $('input', form);
          if (socket.readyState !== WebSocket.OPEN) return;
          socket.send(input.value);
          view.log('→ ' + input.value, 'out');
        });
      }
    });
    socket.addEventListener('message', (event) => {
      const text = describe(event.data);
      view.log('← ' + text);
      if (options.onMessage) options.onMessage(text);
    });
    socket.addEventListener('close', (event) => {
      $('.send', view.node).hidden = true;
      if (opened) {
        view.setState('closed', 'closed ' + event.code + (event.reason ? ' (' + event.reason + ')' : ''));
      } else {
        view.setState('error', 'refused');
        explainRefusal(kind, topic, base, event.code, view);
      }
    });
    return view;
  }

  /** A publish form: POST to /pub (text, or bytes as application/octet-stream). */
  function publishForm(prefix) {
    $('#' + prefix + '-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const topic = $('#' + prefix + '-topic').value;
      const text = $('#' + prefix + '-message').value;
      const binary = $('#' + prefix + '-binary').checked;
      const result = $('#' + prefix + '-result');
      const url = httpUrl('pub', topic);
      try {
        const response = await fetch(withToken(url), binary
          ? { method: 'POST', body: new TextEncoder().encode(text), headers: { 'content-type': 'application/octet-stream' } }
          : { method: 'POST', body: text });
        result.classList.toggle('bad', !response.ok);
        result.textContent = response.ok
          ? 'published ' + (binary ? 'binary ' : '') + 'to ' + topic + ' (' + response.status + ')'
          : response.status + ': ' + (await errorText(response));
      } catch (error) {
        result.classList.add('bad');
        result.textContent = 'cannot reach ' + url + ': ' + error.message;
      }
    });
  }

  /**
   * A subscriber through the client library (/client.js): JSON envelopes, so each message shows
   * its id and the topic it was published to; it reconnects by itself and resumes after the last
   * id, and a gap in the broker's history is shown as such.
   */
  function openResuming(topic, name) {
    const base = broker;
    const view = card('sub-list', name, wsUrl('sub', topic, base) + '?format=json (client library: reconnects, resumes)');
    // The token field is read again on every reconnect, as the client library asks for it.
    const client = globalThis.brokerHonoClient.createClient(base, { getToken: () => tokenInput.value.trim() || undefined });
    let opened = false;
    const subscription = client.subscribe(topic, (data, meta) => view.log('← [' + meta.id + ' · ' + meta.topic + '] ' + describe(data)), {
      onGap: (gap) => view.log('gap: ' + (gap.missed === undefined ? 'some' : gap.missed) + ' message(s) lost (' + gap.reason + ')', 'out'),
      onStatus: (status) => {
        if (status === 'open') {
          opened = true;
          view.setError('');
          view.setState('open');
        } else if (status === 'connecting') {
          view.setState('connecting', opened ? 'reconnecting' : 'connecting');
        } else if (!subscription || !subscription.closed) {
          view.setState('connecting', 'reconnecting');
          if (!opened) explainRefusal('sub', topic, base, 1006, view);
        }
      },
    });
    view.onClose(() => {
      subscription.close();
      view.setState('closed', 'closed (resume point ' + (subscription.lastId || 'none') + ')');
    });
  }

  // ---- pub/sub -----------------------------------------------------------------------------
  $('#sub-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const topic = $('#sub-topic').value;
    const name = 'subscriber ' + ++numbers.sub + ' · ' + topic;
    if ($('#sub-resume').checked) openResuming(topic, name + ' · ids');
    else openSocket('sub', topic, 'sub-list', name, {});
  });
  publishForm('pub');

  // ---- bus ---------------------------------------------------------------------------------
  $('#bus-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const topic = $('#bus-topic').value;
    const echo = $('#bus-echo').checked;
    const name = 'peer ' + ++numbers.bus + ' · ' + topic + (echo ? ' · echo' : '');
    const view = openSocket('bus', topic, 'bus-list', name, { query: echo ? '?echo=1' : '', canSend: true });
    $('.send input', view.node).value = 'hi from peer ' + numbers.bus;
  });

  // ---- push/pull ---------------------------------------------------------------------------
  $('#pull-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const topic = $('#pull-topic').value;
    const number = ++numbers.pull;
    openSocket('pull', topic, 'pull-list', 'puller ' + number + ' · ' + topic, {
      onMessage(text) {
        const item = document.createElement('li');
        item.textContent = text + ' → puller ' + number;
        $('#push-deliveries').append(item);
      },
    });
  });
  $('#push-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = $('#pull-topic').value;
    const message = $('#push-message').value;
    const count = Math.max(1, Math.min(100, Number($('#push-count').value) || 1));
    const result = $('#push-result');
    result.classList.remove('bad');
    result.textContent = 'pushing…';
    for (let i = 1; i <= count; i++) {
      try {
        const response = await fetch(withToken(httpUrl('push', topic)), { method: 'POST', body: message + ' ' + i });
        if (!response.ok) {
          result.classList.add('bad');
          result.textContent = 'message ' + i + ': ' + response.status + ': ' + (await errorText(response));
          return;
        }
      } catch (error) {
        result.classList.add('bad');
        result.textContent = 'cannot reach ' + broker + ': ' + error.message;
        return;
      }
    }
    result.textContent = 'pushed ' + count + ' to ' + topic + (document.querySelector('#pull-list .conn[data-state=open]') ? '' : ' (no puller yet: they wait in the queue)');
  });

  // ---- SSE ---------------------------------------------------------------------------------
  $('#sse-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const topic = $('#sse-topic').value;
    const url = httpUrl('sub', topic);
    const view = card('sse-list', 'EventSource ' + ++numbers.sse + ' · ' + topic, url);
    const source = new EventSource(withToken(url));
    view.onClose(() => {
      source.close();
      view.setState('closed');
    });
    source.addEventListener('open', () => {
      view.setState('open');
      view.setError('');
    });
    source.addEventListener('message', (message) => view.log('← ' + message.data));
    source.addEventListener('binary', (message) => view.log('← ' + hex(fromBase64(message.data)) + ' (base64 ' + message.data + ')'));
    // With history on the broker, EventSource resumes by itself (Last-Event-ID) and hears of losses.
    source.addEventListener('gap', (message) => view.log('gap: ' + message.data, 'out'));
    source.addEventListener('error', async () => {
      if (source.readyState === EventSource.CONNECTING) {
        view.setState('connecting', 'reconnecting');
        return;
      }
      // EventSource gives up for good on a non-200 answer; fetch the same URL to read why.
      view.setState('error', 'refused');
      view.setError('asking the broker why…');
      const probe = new AbortController();
      try {
        const response = await fetch(withToken(url), { headers: { accept: 'text/event-stream' }, signal: probe.signal });
        if (response.ok) {
          probe.abort();
          view.setError('the stream failed, but the broker accepts this subscription now');
        } else {
          view.setError(response.status + ': ' + (await errorText(response)));
        }
      } catch (error) {
        view.setError('cannot reach ' + url + ': ' + error.message);
      }
    });
  });
  publishForm('sse-pub');

  // ---- live /stats -------------------------------------------------------------------------
  let statsGeneration = 0;
  let statsTimer;
  async function refreshStats() {
    clearTimeout(statsTimer);
    const generation = ++statsGeneration;
    const url = broker + '/stats';
    $('#stats-url').textContent = url;
    const state = $('#stats-state');
    try {
      const response = await fetch(withToken(url), { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const stats = await response.json();
      if (generation !== statsGeneration) return;
      const list = $('#stats-values');
      list.replaceChildren(...Object.keys(STAT_LABELS).map((key) => {
        const entry = document.createElement('div');
        entry.dataset.key = key;
        const name = document.createElement('dt');
        name.textContent = STAT_LABELS[key];
        const value = document.createElement('dd');
        value.textContent = String(stats[key]);
        entry.append(name, value);
        return entry;
      }));
      state.dataset.state = 'live';
      state.textContent = 'live';
    } catch (error) {
      if (generation !== statsGeneration) return;
      state.dataset.state = 'error';
      state.textContent = 'unreachable: ' + error.message;
      // Counters from an earlier answer (or another broker) would read as this broker's.
      $('#stats-values').replaceChildren();
    }
    statsTimer = setTimeout(refreshStats, 1000);
  }
  refreshStats();
})();
`;
