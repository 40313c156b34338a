// "Try it" panels: the book talks to your own server, from the page you read.
//
// A chapter places a panel with one line of HTML:
//
//   <div class="try-it" data-kind="ws" data-url="ws://localhost:3000/ws"
//        data-send='{"type":"join","boardId":"board-1","user":"Alice"}'
//        data-run="cargo run -p ex05-presence"></div>
//
// data-kind is "ws" (a WebSocket: connect, send, see the frames) or "sse"
// (an EventSource: connect, see the events, POST a task to cause one).
// data-url, data-send and data-run are optional. Nothing connects until the
// reader presses Connect: a page must not reach for localhost by itself.
// data-run-what says what data-run starts, when it is not "your server":
// the wire steps run the inspector in front of it.
//
// data-sign-in="Reader" (chapter 7) makes the panel sign in first: before
// each Connect it sends `POST /session {"user": "Reader"}` and
// `POST /tickets` to the server, both with `credentials: 'include'` (so the
// browser keeps the session cookie the first sets and sends it with the
// second), and connects with `?ticket=…`. Its POST a task carries the
// cookie too. That works from the locally served book: localhost:4000 and
// localhost:3000 are the same *site* (a port doesn't count), so the
// `SameSite=Lax` cookie is stored and sent. From a book on another site it
// is a cross-site cookie, which the browser doesn't send, and the panel
// says so.
//
// When a connection fails, the panel finds out why with a second request,
// `fetch(…, {mode: "no-cors"})`: it succeeds whenever a server answers at
// all, even one whose answer the browser won't let the page read. So:
// - the probe fails: no server is running there (or the browser blocked the
//   page from reaching this computer: Chrome's local network access prompt);
// - the probe succeeds: a server answered, and the browser refused to hand
//   its answer over (CORS, for an event stream), or the server refused the
//   WebSocket handshake.
(() => {
  'use strict';

  const MAX_LOG_LINES = 200;
  const PROBE_TIMEOUT_MS = 4000;
  /** The event names of the course's streams: EventSource delivers only the
   *  named events someone listens for (and unnamed ones, as `message`). */
  const SSE_EVENTS = ['snapshot', 'reset', 'task_created', 'task_moved', 'task_deleted', 'message'];

  /** What every panel has: an address, Connect and Close, a status line, a log. */
  class Panel {
    constructor(root, kind, defaultUrl) {
      this.root = root;
      this.run = root.dataset.run || '';
      /** What `run` starts: "your server" unless the page says otherwise. */
      this.runWhat = root.dataset.runWhat || 'your server';
      /** Chapter 7: the user to sign in as before connecting, if any. */
      this.signInAs = root.dataset.signIn || '';
      root.replaceChildren();
      root.setAttribute('role', 'group');
      root.setAttribute('aria-label', `Try it: ${kind}`);
      // The book's keyboard shortcuts (arrows turn pages) must not fire
      // while the reader types in the panel.
      root.addEventListener('keydown', (event) => event.stopPropagation());

      this.status = el('span', { class: 'try-it-status' });
      root.append(el('div', { class: 'try-it-head' }, [
        el('strong', {}, ['Try it']),
        el('span', { class: 'try-it-kind' }, [kind]),
        this.status,
      ]));

      this.url = el('input', {
        class: 'try-it-url', type: 'text', spellcheck: 'false', 'aria-label': 'Address',
      });
      this.url.value = root.dataset.url || defaultUrl;
      this.connectButton = el('button', { class: 'try-it-connect', type: 'button' }, ['Connect']);
      this.closeButton = el('button', { class: 'try-it-close', type: 'button' }, ['Close']);
      this.connectButton.addEventListener('click', () => this.connect());
      this.closeButton.addEventListener('click', () => this.close());
      this.url.addEventListener('keydown', (event) => { if (event.key === 'Enter') this.connect(); });
      root.append(el('div', { class: 'try-it-row' }, [this.url, this.connectButton, this.closeButton]));

      this.extra = el('div', { class: 'try-it-row' });
      this.log = el('ol', { class: 'try-it-log', 'aria-live': 'polite' });
      this.message = el('p', { class: 'try-it-message', hidden: '' });
      root.append(this.extra, this.log, this.message, help(kind, this.run, this.runWhat, this.signInAs));
      this.setState('idle', 'not connected');
    }

    setState(state, text) {
      this.state = state;
      this.root.dataset.state = state;
      this.status.textContent = text;
      this.connectButton.disabled = state === 'connecting' || state === 'open';
      this.closeButton.disabled = !(state === 'connecting' || state === 'open');
      this.changed();
    }

    /** Subclasses enable their own controls here. */
    changed() {}

    note(text, kind = 'note') {
      const time = new Date().toTimeString().slice(0, 8);
      const line = el('li', { class: `try-it-${kind}` }, [el('span', { class: 'try-it-time' }, [time]), text]);
      this.log.append(line);
      while (this.log.children.length > MAX_LOG_LINES) this.log.firstElementChild.remove();
      this.log.scrollTop = this.log.scrollHeight;
    }

    say(text) {
      this.message.hidden = !text;
      this.message.textContent = text || '';
    }

    /** Says why nothing could be read from `url`, after probing `probe`
     *  (the same server over HTTP). */
    async explain(url, refusedWhy, probe = url) {
      if (await reachable(probe)) {
        this.setState('blocked', 'refused');
        this.say(refusedWhy);
        this.note(refusedWhy, 'error');
      } else {
        this.setState('no-server', 'no server');
        const start = this.run ? ` Start ${this.runWhat} (${this.run}) and press Connect again.` : '';
        const text = `No server answered at ${url}.${start} If it is running and you read this book ` +
          'online, your browser may be keeping this page from reaching your computer: see ' +
          '"Nothing happens?" below.';
        this.say(text);
        this.note(`no server answered at ${url}`, 'error');
      }
    }

    /** Chapter 7: signs in as `signInAs` on the server of `url`, fetches a
     *  one-time ticket with the session cookie, and returns `url` with
     *  `?ticket=…`; `null` (having said why) when that fails. Without
     *  `signInAs`, `url` as it is. */
    async withTicket(url) {
      if (!this.signInAs) return url;
      const base = new URL(httpOf(url)).origin;
      const user = this.signInAs;
      try {
        this.note(`→ POST ${base}/session {"user":${JSON.stringify(user)}}`, 'out');
        const session = await fetch(`${base}/session`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ user }),
        });
        this.note(`← ${session.status} ${session.statusText} (the session cookie is HttpOnly: ` +
          'this page can\'t see it, the browser keeps it)', 'in');
        if (session.status !== 204) {
          this.refused(`POST ${base}/session answered ${session.status}: has your server stage 3 (sessions)?`);
          return null;
        }
        this.note(`→ POST ${base}/tickets (with the cookie)`, 'out');
        const answer = await fetch(`${base}/tickets`, { method: 'POST', credentials: 'include' });
        const body = await answer.text();
        this.note(`← ${answer.status} ${answer.statusText} ${body}`, 'in');
        if (answer.status === 401) {
          this.refused(`Signed in, but POST ${base}/tickets came back 401: the browser did not send the ` +
            `session cookie. It sends it only to the same site: from ${location.origin} the server's ` +
            'cookie is a cross-site cookie. Read the book locally (cargo course book, ' +
            'http://localhost:4000), where the panels and the server are the same site.');
          return null;
        }
        const ticket = answer.status === 201 ? JSON.parse(body).ticket : null;
        if (typeof ticket !== 'string') {
          this.refused(`POST ${base}/tickets answered ${answer.status}, not 201 {"ticket": …}.`);
          return null;
        }
        const withTicket = new URL(url);
        withTicket.searchParams.set('ticket', ticket);
        return withTicket.href;
      } catch {
        await this.explain(`${base}/session`,
          `Your server answered, but the browser would not let this page sign in: CORS. The server ` +
          `must allow this page's origin (${location.origin}) with credentials: ALLOWED_ORIGINS, ` +
          'which allows the locally served book, http://localhost:4000, by default.', `${base}/healthz`);
        return null;
      }
    }

    /** Says that the server refused, and why. */
    refused(why) {
      this.setState('blocked', 'refused');
      this.say(why);
      this.note(why, 'error');
    }
  }

  /** A WebSocket: connect, send text messages, see every frame. */
  class WsPanel extends Panel {
    constructor(root) {
      super(root, 'WebSocket', 'ws://localhost:3000/ws');
      this.socket = null;
      this.input = el('input', {
        class: 'try-it-send-text', type: 'text', spellcheck: 'false', 'aria-label': 'Message to send',
        placeholder: 'A text message to send',
      });
      this.input.value = root.dataset.send || '';
      this.sendButton = el('button', { class: 'try-it-send', type: 'button' }, ['Send']);
      this.sendButton.addEventListener('click', () => this.send());
      this.input.addEventListener('keydown', (event) => { if (event.key === 'Enter') this.send(); });
      this.extra.append(this.input, this.sendButton);
      this.changed();
    }

    changed() {
      if (this.sendButton) this.sendButton.disabled = this.state !== 'open';
    }

    async connect() {
      const typed = this.url.value.trim();
      this.say('');
      this.setState('connecting', this.signInAs ? 'signing in…' : 'connecting…');
      const url = await this.withTicket(typed);
      if (url === null) return;
      let socket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        this.setState('idle', 'not connected');
        this.say(`That is not a WebSocket address: ${error.message}`);
        return;
      }
      this.socket = socket;
      this.setState('connecting', 'connecting…');
      this.note(`connecting to ${url}`);
      let opened = false;
      socket.addEventListener('open', () => {
        opened = true;
        this.setState('open', 'connected');
        this.note('connected: 101 Switching Protocols');
      });
      socket.addEventListener('message', (event) => {
        const text = typeof event.data === 'string' ? event.data : `(a binary message of ${event.data.size} bytes)`;
        this.note(`← ${text}`, 'in');
      });
      socket.addEventListener('close', (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (opened) {
          const reason = event.reason ? ` (${event.reason})` : '';
          this.note(`closed: code ${event.code}${reason}${event.wasClean ? '' : ', without a close frame'}`);
          this.setState('closed', 'closed');
        } else {
          this.explain(url,
            `Something answered at ${url}, but not with a WebSocket: the handshake failed. Is the path ` +
            'right? Does the server refuse this page\'s Origin? The Network tab shows its answer.',
            httpOf(url));
        }
      });
    }

    send() {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
      const text = this.input.value;
      this.socket.send(text);
      this.note(`→ ${text}`, 'out');
    }

    close() {
      if (this.socket) {
        this.note('closing: close frame 1000');
        this.socket.close(1000);
      }
    }
  }

  /** An EventSource: connect, see each event; POST a task to cause one. */
  class SsePanel extends Panel {
    constructor(root) {
      super(root, 'Server-Sent Events', 'http://localhost:3000/boards/board-1/events');
      this.source = null;
      this.title = el('input', {
        class: 'try-it-title', type: 'text', 'aria-label': 'Title of a task to create',
        placeholder: 'A task\'s title',
      });
      this.title.value = 'Design login page';
      this.postButton = el('button', { class: 'try-it-post', type: 'button' }, ['POST a task']);
      this.postButton.addEventListener('click', () => this.post());
      this.extra.append(this.title, this.postButton);
    }

    async connect() {
      const typed = this.url.value.trim();
      this.say('');
      this.setState('connecting', this.signInAs ? 'signing in…' : 'connecting…');
      const url = await this.withTicket(typed);
      if (url === null) return;
      let source;
      try {
        source = new EventSource(url);
      } catch (error) {
        this.say(`That is not an address: ${error.message}`);
        return;
      }
      this.source = source;
      this.setState('connecting', 'connecting…');
      this.note(`connecting to ${url}`);
      let opened = false;
      source.addEventListener('open', () => {
        opened = true;
        this.setState('open', 'connected');
        this.note('connected: 200 OK, text/event-stream');
      });
      for (const name of SSE_EVENTS) {
        source.addEventListener(name, (event) => {
          const id = event.lastEventId ? ` · id ${event.lastEventId}` : '';
          this.note(`event: ${event.type}${id} · data: ${event.data}`, 'in');
        });
      }
      source.addEventListener('error', () => {
        if (this.source !== source) return;
        if (source.readyState === EventSource.CONNECTING && opened) {
          if (this.state === 'open') {
            this.note('the connection dropped; the browser reconnects by itself, with Last-Event-ID');
          }
          this.setState('connecting', 'reconnecting…');
          return;
        }
        // Never opened, or given up for good: stop the browser's retries and
        // find out why.
        source.close();
        this.source = null;
        if (opened && this.signInAs) {
          // It reconnected with the same URL, and so the same ticket: used.
          this.note('the browser reconnected with the ticket it had used, and got 401: a ticket opens ' +
            'one connection. Press Connect for a new one.', 'error');
          this.setState('closed', 'closed');
          return;
        }
        this.explain(url,
          `Your server answered ${url}, but the browser would not let this page read the stream. ` +
          'Either the answer lacks Access-Control-Allow-Origin (CORS: this page comes from ' +
          `${location.origin}), or it is not 200 with Content-Type: text/event-stream.`);
      });
    }

    close() {
      if (this.source) {
        this.source.close();
        this.source = null;
        this.note('closed: the browser will not reconnect');
        this.setState('closed', 'closed');
      }
    }

    async post() {
      const tasks = this.url.value.trim().replace(/\/events\/?$/, '/tasks');
      const title = this.title.value;
      this.note(`→ POST ${tasks} {"title":${JSON.stringify(title)}}`, 'out');
      try {
        const response = await fetch(tasks, {
          method: 'POST',
          // Chapter 7: writing needs the session cookie.
          credentials: this.signInAs ? 'include' : 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ title }),
        });
        this.note(`← ${response.status} ${response.statusText} ${await response.text()}`, 'in');
      } catch {
        await this.explain(tasks,
          `Your server answered ${tasks}, but the browser would not let this page read the answer: ` +
          'CORS. A JSON POST from another origin is preceded by a preflight OPTIONS request, which ' +
          'the server must answer with Access-Control-Allow-Origin and -Headers.');
      }
    }
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
      // An event stream never ends: stop reading it.
      controller.abort();
    }
  }

  /** `ws://host/ws` → `http://host/ws`, the same server over HTTP. */
  function httpOf(url) {
    return url.replace(/^ws(s?):/i, 'http$1:');
  }

  function help(kind, run, runWhat, signInAs) {
    const start = run
      ? [el('p', {}, [`Start ${runWhat} first: `, el('code', {}, [run]), ', then press Connect.'])]
      : [];
    if (signInAs) {
      start.push(el('p', {}, [
        'Connect signs in as ', el('code', {}, [signInAs]), ' (POST /session), fetches a one-time ticket ' +
        '(POST /tickets, with the session cookie) and connects with ?ticket=….',
      ]));
    }
    const origin = location.origin === 'null' ? 'a file' : location.origin;
    return el('div', { class: 'try-it-help' }, [
      ...start,
      el('details', {}, [
        el('summary', {}, ['Nothing happens?']),
        el('p', {}, [
          'This page comes from ', el('code', {}, [origin]), ' and your server from another origin. ',
          kind === 'WebSocket'
            ? 'A WebSocket is not covered by CORS: the browser connects, and sends the page\'s origin in ' +
              'the Origin header; refusing an origin is up to the server.'
            : 'The browser reads an event stream (or any fetch) from another origin only if the answer ' +
              'allows it with Access-Control-Allow-Origin: that is CORS, which chapter 2 adds to the server.',
        ]),
        el('p', {}, [
          'Reading the book online (from a public site, over https)? Chrome asks before a public page ' +
          'may reach devices on your local network, your own computer included: allow it, and press ' +
          'Connect again. If you said no, or your browser refuses such requests outright, read the book ' +
          'locally instead: ', el('code', {}, ['cargo course book']), ' serves it on localhost:4000.',
        ]),
        el('p', {}, [
          'The browser\'s developer tools show the whole exchange: in the Network tab, the ',
          kind === 'WebSocket' ? 'WS filter lists the connection, and its Messages tab every frame.'
            : 'request to the stream has an EventStream tab listing every event.',
        ]),
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
  document.querySelectorAll('div.try-it[data-kind]').forEach((root) => {
    if (root.dataset.kind === 'sse') {
      new SsePanel(root);
    } else if (root.dataset.kind === 'ws') {
      new WsPanel(root);
    }
  });
})();
