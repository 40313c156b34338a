// "Wire" panels: what went over the wire, bit by bit, while you drive your
// server from a "Try it" panel. They read the live view of the course's
// inspector (`cargo course inspect --to 3000`), an event stream of one
// record per HTTP head, handshake, frame and SSE event — chapter 2's
// EventSource at work on chapter 4's frames.
//
// A chapter places a panel with one line of HTML:
//
//   <div class="wire" data-view="http://localhost:3002" data-to="3000"></div>
//
// data-view is where the inspector's live view listens (3002 unless it was
// started with --view), data-to the port of the reader's server. Both are
// optional. Nothing connects until the reader presses Watch: a page must not
// reach for localhost by itself.
//
// The stream comes from another origin than the book's, so the inspector
// allows it with CORS — for pages served from this computer only (and any
// `--allow-origin`): the records hold whatever passed through. When the
// stream can't be read, a `no-cors` probe tells "nothing listens" from
// "something answered, but would not let this page read it", as the "Try
// it" panels do.
(() => {
  'use strict';

  const MAX_RECORDS = 400;
  const PROBE_TIMEOUT_MS = 4000;
  /** The address fields of this page's "Try it" panels (tryit.js). */
  const TRY_IT_URLS = 'div.try-it[data-kind] .try-it-url';

  class WirePanel {
    constructor(root) {
      this.root = root;
      this.source = null;
      this.proxy = null;
      this.port = root.dataset.to || '3000';
      root.replaceChildren();
      // The "Try it" panels' look (tryit.css), and a few rules of its own (wire.css).
      root.classList.add('try-it');
      root.setAttribute('role', 'group');
      root.setAttribute('aria-label', 'On the wire');
      root.addEventListener('keydown', (event) => event.stopPropagation());

      this.status = el('span', { class: 'try-it-status' });
      root.append(el('div', { class: 'try-it-head' }, [
        el('strong', {}, ['Wire']),
        el('span', { class: 'try-it-kind' }, ['what the inspector sees']),
        this.status,
      ]));

      this.url = el('input', {
        class: 'try-it-url wire-url', type: 'text', spellcheck: 'false',
        'aria-label': 'The inspector\'s live view',
      });
      this.url.value = root.dataset.view || 'http://localhost:3002';
      this.watchButton = el('button', { class: 'wire-watch', type: 'button' }, ['Watch']);
      this.stopButton = el('button', { class: 'wire-stop', type: 'button' }, ['Stop']);
      this.clearButton = el('button', { class: 'wire-clear', type: 'button' }, ['Clear']);
      this.watchButton.addEventListener('click', () => this.watch());
      this.stopButton.addEventListener('click', () => this.stop());
      this.clearButton.addEventListener('click', () => this.log.replaceChildren());
      this.url.addEventListener('keydown', (event) => { if (event.key === 'Enter') this.watch(); });
      root.append(el('div', { class: 'try-it-row' },
        [this.url, this.watchButton, this.stopButton, this.clearButton]));

      // Where the proxy listens, once the stream says so; and a button that
      // sends this page's "Try it" panels through it.
      this.where = el('span', { class: 'wire-where' });
      this.routeButton = el('button', { class: 'wire-route', type: 'button', hidden: '' },
        ['Send the Try it panels through it']);
      this.routeButton.addEventListener('click', () => this.route());
      root.append(el('div', { class: 'try-it-row wire-proxy' }, [this.where, this.routeButton]));

      this.log = el('ol', { class: 'try-it-log wire-log', 'aria-live': 'polite' });
      this.message = el('p', { class: 'try-it-message', hidden: '' });
      root.append(this.log, this.message, help(this.port));
      this.setState('idle', 'not watching');
    }

    setState(state, text) {
      this.root.dataset.state = state;
      this.status.textContent = text;
      this.watchButton.disabled = state === 'connecting' || state === 'open';
      this.stopButton.disabled = !(state === 'connecting' || state === 'open');
    }

    say(text) {
      this.message.hidden = !text;
      this.message.textContent = text || '';
    }

    watch() {
      const base = this.url.value.trim().replace(/\/(events)?\/?$/, '');
      const url = `${base}/events`;
      let source;
      try {
        source = new EventSource(url);
      } catch (error) {
        this.say(`That is not an address: ${error.message}`);
        return;
      }
      this.source = source;
      this.say('');
      this.setState('connecting', 'connecting…');
      let opened = false;
      source.addEventListener('open', () => {
        opened = true;
        this.setState('open', 'watching');
      });
      source.addEventListener('inspector', (event) => this.described(JSON.parse(event.data)));
      source.addEventListener('record', (event) => this.show(JSON.parse(event.data)));
      source.addEventListener('error', () => {
        if (this.source !== source) return;
        if (source.readyState === EventSource.CONNECTING && opened) {
          // The browser reconnects by itself, with Last-Event-ID: the
          // inspector sends only the records this panel missed.
          this.setState('connecting', 'reconnecting…');
          return;
        }
        source.close();
        this.source = null;
        this.explain(base);
      });
    }

    stop() {
      if (this.source) {
        this.source.close();
        this.source = null;
      }
      this.setState('closed', 'stopped');
    }

    async explain(base) {
      if (await reachable(`${base}/`)) {
        this.setState('blocked', 'refused');
        this.say(`Something answered at ${base}, but would not let this page read its stream. If it is ` +
          'the inspector, it lets only pages from this computer read what it saw; for this page ' +
          `(${location.origin}), start it with --allow-origin ${location.origin}.`);
      } else {
        this.described({});
        this.setState('no-server', 'no inspector');
        this.say(`No inspector answered at ${base}. Start it in a terminal, in front of your server: ` +
          `cargo course inspect --to ${this.port} (its live view listens on port 3002), then press ` +
          'Watch again.');
      }
    }

    /** The `inspector` event: where the proxy listens, and what it forwards to. */
    described({ listen, to }) {
      this.proxy = listen ? { listen, to } : null;
      this.where.textContent = listen ? `inspecting: connect to ${listen}, forwarded to ${to}` : '';
      this.routeButton.hidden = !listen || !document.querySelector(TRY_IT_URLS);
    }

    /** Points this page's "Try it" panels at the proxy, when they address its server. */
    route() {
      if (!this.proxy) return;
      const port = (address) => address.split(':').pop();
      const [from, to] = [port(this.proxy.to), port(this.proxy.listen)];
      for (const input of document.querySelectorAll(TRY_IT_URLS)) {
        input.value = input.value.replace(new RegExp(`^(\\w+://[^/:]+):${from}(?=/|$)`), `$1:${to}`);
      }
    }

    show({ record, text }) {
      const item = record.kind === 'frame' ? frame(record) : line(record, text);
      item.classList.add('wire-rec');
      item.dataset.kind = record.kind;
      item.dataset.dir = record.dir;
      item.dataset.conn = record.conn;
      this.log.append(item);
      while (this.log.children.length > MAX_RECORDS) this.log.firstElementChild.remove();
      this.log.scrollTop = this.log.scrollHeight;
    }
  }

  const ARROWS = { to_server: '→', to_client: '←', proxy: '·' };

  /** The start of each record: its connection and direction. */
  function stamp(record) {
    return [
      el('span', { class: 'try-it-time' }, [`#${record.conn}`]),
      el('span', { class: 'wire-arrow' }, [ARROWS[record.dir] || '·']),
    ];
  }

  /** Any record but a frame: the inspector's own line for it, without its
   *  timestamp; the headers of a head fold away. */
  function line(record, text) {
    const [first, ...rest] = text.replace(/^\s*[\d.]+ ms #\d+ \S /, '').split('\n');
    const item = el('li', {}, [...stamp(record), first]);
    if (rest.length) {
      // The handshake's key and accept values are the point: shown at once.
      const open = record.kind === 'handshake' ? { open: '' } : {};
      item.append(el('details', open, [
        el('summary', {}, [record.kind === 'handshake' ? 'key and accept' : 'headers']),
        el('pre', {}, [rest.map((l) => l.trim()).join('\n')]),
      ]));
    }
    const bad = record.kind === 'violation' || record.kind === 'dial_failed' ||
      (record.kind === 'handshake' && !record.ok);
    if (bad) item.classList.add('try-it-error');
    return item;
  }

  /** A frame as RFC 6455 §5.2 draws it: FIN, RSV, opcode, MASK, length,
   *  masking key, payload (masked, then unmasked). */
  function frame(record) {
    const bit = (b) => (b ? '1' : '0');
    const field = (name, value, title) =>
      el('span', { class: `wire-field wire-${name.toLowerCase()}`, title }, [el('span', { class: 'wire-name' }, [name]), value]);
    const parts = [
      field('FIN', bit(record.fin), record.fin ? 'the last frame of its message' : 'more fragments follow'),
      field('RSV', `${bit(record.rsv1)}${bit(record.rsv2)}${bit(record.rsv3)}`, 'reserved for extensions'),
      field('opcode', `${record.opcode_name} 0x${record.opcode.toString(16)}`, 'what the payload is'),
      field('MASK', bit(record.masked), record.masked ? 'masked: a client\'s frame' : 'not masked: a server\'s frame'),
      field('len', `${record.len} (${record.length_encoding})`, 'how the length was sent'),
    ];
    if (record.mask_key) parts.push(field('key', record.mask_key, 'the masking key'));
    const payload = el('span', { class: 'wire-payload' });
    if (record.payload_masked) {
      parts.push(field('masked', record.payload_masked, 'the payload as it went over the wire'));
      payload.append('→ ');
    }
    if (record.close) {
      const { code, meaning, reason } = record.close;
      payload.append(`${code ?? ''} (${meaning})${reason ? ` "${reason}"` : ''}`);
    } else {
      payload.append(record.payload);
    }
    const item = el('li', { class: record.dir === 'to_server' ? 'try-it-out' : 'try-it-in' },
      [...stamp(record), 'frame ', ...parts, payload]);
    item.dataset.masked = String(record.masked);
    item.dataset.opcode = record.opcode_name;
    return item;
  }

  /** Whether anything answers HTTP at `url`, readable or not. */
  async function reachable(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
    try {
      await fetch(url, { mode: 'no-cors', cache: 'no-store', signal: controller.signal });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  function help(port) {
    return el('div', { class: 'try-it-help' }, [
      el('p', {}, [
        'In a terminal, start your server, then the inspector in front of it: ',
        el('code', {}, [`cargo course inspect --to ${port}`]),
        '. Press Watch, then use a Try it panel that goes through the inspector (port 3001, not ',
        `${port}): every frame shows up here, both ways. Hover over a field for what it means.`,
      ]),
    ]);
  }

  function el(name, attributes = {}, children = []) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    node.append(...children);
    return node;
  }

  // Last: classes, like `let`, exist only from their declaration on.
  document.querySelectorAll('div.wire').forEach((root) => new WirePanel(root));
})();
