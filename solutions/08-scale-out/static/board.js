// The task board in the browser: plain JavaScript, no build step, no library.
//
// Three channels to one server, each for what it does best:
// - board updates arrive on an EventSource (Server-Sent Events): a snapshot,
//   then every change, from whoever made it. The board on screen is drawn
//   from this stream and from nothing else.
// - presence travels on a WebSocket: who is online, who is typing. The same
//   socket can carry task commands, each with a requestId that its answer
//   (`ack` or `error`) carries back.
// - commands go over HTTP (fetch) by default, or over the WebSocket if you
//   pick that in the bar at the top.
//
// Chapter 7: the server wants to know who is asking. The page signs in
// first (POST /session sets an HttpOnly session cookie, which the
// EventSource, the WebSocket and fetch then send by themselves), and signs
// in again when a channel is refused: a session that expired, or a server
// that restarted and forgot it. A refused EventSource gives up for good,
// so the page has to start it again itself.
//
// Both connections come back by themselves after the server restarts: the
// EventSource with its Last-Event-ID (the server answers with a replay, or
// with `reset` and a fresh snapshot), the WebSocket by joining again. A
// WebSocket whose network vanished says nothing, so the page asks now and
// then (`ping`, answered `pong`) and starts over when no answer comes.

const COLUMNS = ['todo', 'doing', 'done'];
const COLUMN_NAMES = { todo: 'To do', doing: 'Doing', done: 'Done' };

/** While a user types, the page says so again this often. The server drops
 *  an indicator TYPING_TTL_MS (5 s by default) after the last refresh. */
const TYPING_REFRESH_MS = 2000;
/** How long a command over the WebSocket may wait for its answer. */
const COMMAND_TIMEOUT_MS = 5000;
/** Reconnection delays grow from the first to the last, with jitter. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_LAST_MS = 10000;
/** How long an error stays on screen. */
const NOTICE_MS = 6000;
/** The page's heartbeat: a `ping` message this often, and a connection that
 *  has not answered `pong` within PONG_WITHIN_MS is given up for dead. A
 *  script cannot send WebSocket ping frames (the browser answers the
 *  server's, and never tells the page), so the heartbeat is a message. */
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 5000;

const $ = (selector, root = document) => root.querySelector(selector);

const params = new URLSearchParams(location.search);
const me = (params.get('user') || '').trim();
const boardId = (params.get('board') || '').trim();

// -- What the page knows ---------------------------------------------------

/** Tasks by id, exactly as the event stream last described them. */
const tasks = new Map();
/** Each task's card, by id: cards are updated in place, never redrawn, so a
 *  half-typed comment keeps its text and its focus when the task changes. */
const cards = new Map();
/** Who is on the board, from the WebSocket. */
let online = new Set();
/** Who is typing where: task id → users. */
const typists = new Map();
/** Comments written in this tab, by task id. The course's API has no
 *  comments: they stay here, and exist to show "… is typing" to the others. */
const comments = new Map();
/** Each channel's state: 'connecting' or 'open'. */
const channels = { sse: 'connecting', ws: 'connecting' };
/** Whether both channels have been open at least once. */
let everLive = false;
/** The event stream. */
let updates = null;
/** Failed attempts to open the event stream since it was last open. */
let updatesAttempts = 0;
/** The WebSocket, while one is open or opening, and how many times in a
 *  row it failed. */
let socket = null;
let socketAttempts = 0;
/** Commands sent over the WebSocket and not answered yet, by requestId. */
const pending = new Map();
let lastRequest = 0;
/** The task this tab's user is typing on, and when the others were last told. */
let typingOn = null;
let typingToldAt = 0;
let noticeTimer = 0;
/** Set while the page is being left: no reconnecting then. */
let leaving = false;

/** No user or no board in the address: ask, with a plain form that reloads
 *  the page as `/?user=…&board=…`. */
function askWhoAndWhere() {
  const form = $('#sign-in');
  document.body.classList.add('signing-in');
  if (me) form.elements.user.value = me;
  if (boardId) form.elements.board.value = boardId;
  form.hidden = false;
  (me ? form.elements.board : form.elements.user).focus();
}

// ANCHOR: sign_in
/** Chapter 7: asks the server for a session cookie as `me`. */
async function signIn() {
  const response = await fetch('/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: me }),
  });
  if (!response.ok) throw new Error(`signing in failed: ${response.status}`);
}

/** Signs in, then calls `then` — also when signing in failed, so that the
 *  channel's own retrying carries on. */
function signInAgain(then) {
  signIn().catch(() => {}).finally(then);
}
// ANCHOR_END: sign_in

function start() {
  document.title = `${boardId} · Task board`;
  $('#board-name').textContent = boardId;
  $('#board').hidden = false;
  setUpTransport();
  setUpForms();
  drawConnection();
  openUpdates();
  openPresence();
  // ANCHOR: leaving
  // Leaving the page (a link, the back button) may put it, frozen, in the
  // back/forward cache. A page with an open WebSocket is not kept there:
  // browsers either refuse to cache it or close the socket with it — and a
  // socket closed by the browser is one whose end the server learns of late.
  // So close both connections ourselves on the way out (the page stays
  // cacheable, and the others see us leave at once), and open them again if
  // the page comes back.
  window.addEventListener('pagehide', () => {
    leaving = true;
    updates?.close();
    socket?.close(1000, 'the page is gone');
  });
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    leaving = false;
    openUpdates();
    openPresence();
  });
  // ANCHOR_END: leaving
}

// -- Board updates: an EventSource ------------------------------------------

// ANCHOR: updates
/** Opens the board's event stream. The browser reconnects by itself when
 *  the connection drops, sending the last event id it saw. */
function openUpdates() {
  const source = new EventSource(`/boards/${encodeURIComponent(boardId)}/events`);
  updates = source;
  source.addEventListener('open', () => {
    updatesAttempts = 0;
    setChannel('sse', 'open');
  });
  // The board as it is: replaces whatever this tab believed.
  source.addEventListener('snapshot', (event) => replaceAll(JSON.parse(event.data).tasks));
  // The server cannot replay what this tab missed (it restarted, or the tab
  // was away too long). Nothing to do here: a snapshot comes next.
  source.addEventListener('reset', () => {});
  source.addEventListener('task_created', (event) => upsert(JSON.parse(event.data)));
  source.addEventListener('task_moved', (event) => upsert(JSON.parse(event.data)));
  source.addEventListener('task_deleted', (event) => remove(JSON.parse(event.data).id));
  source.addEventListener('error', () => {
    setChannel('sse', 'connecting');
    // CONNECTING: the browser is already retrying. CLOSED: it gave up for
    // good (an answer that was not 200 text/event-stream), so start over —
    // a little later each time, until a stream opens again.
    // Chapter 7: a 401 is one of those answers — sign in again first.
    if (source.readyState === EventSource.CLOSED && !leaving) {
      setTimeout(() => signInAgain(openUpdates), reconnectDelay(updatesAttempts++));
    }
  });
}
// ANCHOR_END: updates

// -- Presence and commands: a WebSocket --------------------------------------

// ANCHOR: presence
/** Opens the WebSocket and joins the board; after it closes, opens another. */
function openPresence() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  socket = ws;
  // The heartbeat: the timer of an unanswered ping, if there is one.
  let unanswered = null;
  const heartbeat = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN || unanswered) return;
    ws.send(JSON.stringify({ type: 'ping' }));
    unanswered = setTimeout(() => gone('no pong'), PONG_WITHIN_MS);
  }, PING_EVERY_MS);
  let opened = false;
  ws.addEventListener('open', () => {
    opened = true;
    send({ type: 'join', boardId, user: me });
  });
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'pong') {
      clearTimeout(unanswered);
      unanswered = null;
    }
    onMessage(message);
  });
  ws.addEventListener('close', () => gone('closed'));
  // However the socket ends — closed, or silent — this runs once.
  let ended = false;
  function gone(why) {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    clearTimeout(unanswered);
    // A dead network may keep a closing socket waiting for minutes: stop
    // listening to it now, and let the browser finish closing it.
    if (why !== 'closed') ws.close(4000, why);
    socket = null;
    setChannel('ws', 'connecting');
    // What this socket told us is no longer known to be true.
    online = new Set();
    typists.clear();
    drawOnline();
    cards.forEach((_, id) => drawTyping(id));
    for (const requestId of [...pending.keys()]) {
      settle(requestId, 'the connection closed before the server answered');
    }
    typingOn = null;
    // Chapter 7: a socket that never opened may have been refused (401):
    // a script can't see the status, so sign in again before the next try.
    const reopen = opened ? openPresence : () => signInAgain(openPresence);
    if (!leaving) setTimeout(reopen, reconnectDelay(socketAttempts++));
  }
}
// ANCHOR_END: presence

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(message));
  }
}

// ANCHOR: on_message
/** Applies one message from the server. Exported so that the browser test
 *  can hand the page a message, as the server would. */
export function onMessage(message) {
  switch (message.type) {
    case 'presence': {
      // The whole truth: who is here and who is typing now. It replaces what
      // this tab believed — after a join, and after the server found this
      // tab had fallen behind and lost messages (a typing_stopped, say).
      online = new Set(message.users);
      typists.clear();
      for (const { user, taskId } of message.typing || []) {
        if (user !== me) typistsOf(taskId).add(user);
      }
      socketAttempts = 0;
      setChannel('ws', 'open');
      drawOnline();
      cards.forEach((_, id) => drawTyping(id));
      break;
    }
    case 'joined':
      online.add(message.user);
      drawOnline();
      break;
    case 'left':
      online.delete(message.user);
      typists.forEach((users, id) => users.delete(message.user) && drawTyping(id));
      drawOnline();
      break;
    case 'typing':
      typistsOf(message.taskId).add(message.user);
      drawTyping(message.taskId);
      break;
    case 'typing_stopped':
      typistsOf(message.taskId).delete(message.user);
      drawTyping(message.taskId);
      break;
    case 'ack':
      settle(message.requestId, null, message.task);
      break;
    case 'error':
      if (message.requestId && pending.has(message.requestId)) {
        settle(message.requestId, message.message);
      } else {
        notice(`The server said: ${message.message}`);
      }
      break;
    // The heartbeat's answer (see openPresence); a message like any other
    // shows the connection works.
    case 'pong':
    default:
      break;
  }
}
// ANCHOR_END: on_message

// ANCHOR: command
/** Sends a task command over the WebSocket; resolves with the `ack`'s task,
 *  or rejects with the `error`'s message. Full duplex pairs nothing by
 *  itself: the requestId is how this answer finds this question. */
function command(message) {
  return new Promise((resolve, reject) => {
    if (channels.ws !== 'open') {
      reject(new Error('not connected to the server; try again in a moment'));
      return;
    }
    lastRequest += 1;
    const requestId = `r${lastRequest}`;
    const timer = setTimeout(
      () => settle(requestId, `no answer within ${COMMAND_TIMEOUT_MS / 1000} s`),
      COMMAND_TIMEOUT_MS,
    );
    pending.set(requestId, { resolve, reject, timer });
    send({ ...message, requestId });
  });
}

function settle(requestId, error, task) {
  const request = pending.get(requestId);
  if (!request) return;
  pending.delete(requestId);
  clearTimeout(request.timer);
  if (error) {
    request.reject(new Error(error));
  } else {
    request.resolve(task);
  }
}
// ANCHOR_END: command

// -- Commands, over HTTP or the WebSocket -------------------------------------

const usesWebSocket = () => $('#transport').value === 'ws';

function setUpTransport() {
  const select = $('#transport');
  select.value = localStorage.getItem('board.transport') === 'ws' ? 'ws' : 'http';
  select.addEventListener('change', () => localStorage.setItem('board.transport', select.value));
}

// ANCHOR: commands
// Neither answer is drawn: the change comes back on the event stream, to
// this tab as to every other, and the board is drawn from the stream only.
// An answer could arrive after a later change made by someone else, and
// drawing it would put the board back in the past.

function createTask(title) {
  if (usesWebSocket()) return command({ type: 'create_task', title });
  return http('POST', tasksPath(), { title });
}

function moveTask(id, column) {
  if (usesWebSocket()) return command({ type: 'move_task', taskId: id, column });
  return http('PATCH', `${tasksPath()}/${encodeURIComponent(id)}`, { column });
}
// ANCHOR_END: commands

/** Deleting is HTTP only: the WebSocket protocol has no delete command. */
function deleteTask(id) {
  return http('DELETE', `${tasksPath()}/${encodeURIComponent(id)}`);
}

const tasksPath = () => `/boards/${encodeURIComponent(boardId)}/tasks`;

async function http(method, path, body, retried = false) {
  const init = { method };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Error('the server cannot be reached');
  }
  // Chapter 7: the session expired or was forgotten: sign in, try once more.
  if (response.status === 401 && !retried) {
    await signIn().catch(() => {});
    return http(method, path, body, true);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error || message;
    } catch {
      // Not JSON: the status says enough.
    }
    throw new Error(message);
  }
}

function setUpForms() {
  const form = $('#add-task');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.title;
    const button = $('button', form);
    button.disabled = true;
    try {
      await createTask(input.value);
      input.value = '';
    } catch (error) {
      notice(`Could not add the task: ${error.message}`);
    } finally {
      button.disabled = false;
      input.focus();
    }
  });

  $('#board').addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const id = button.closest('.card').dataset.id;
    button.disabled = true;
    try {
      if (button.dataset.action === 'move') {
        await moveTask(id, button.dataset.to);
      } else {
        await deleteTask(id);
      }
    } catch (error) {
      notice(`Could not ${button.dataset.action} ${id}: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

// -- Drawing the board ---------------------------------------------------------

// ANCHOR: draw
function replaceAll(list) {
  const keep = new Set(list.map((task) => task.id));
  [...tasks.keys()].filter((id) => !keep.has(id)).forEach(remove);
  list.forEach(upsert);
}

function upsert(task) {
  tasks.set(task.id, task);
  const card = cards.get(task.id) || newCard(task.id);
  card.dataset.column = task.column;
  card.style.setProperty('--column-colour', `var(--${task.column})`);
  $('.title', card).textContent = task.title;
  drawMoves(card, task);
  place(card, task);
  drawCounts();
}

function remove(id) {
  tasks.delete(id);
  cards.get(id)?.remove();
  cards.delete(id);
  drawCounts();
}

/** Puts a card in its column, in creation order (task-2 after task-1). */
function place(card, task) {
  const list = $(`.column[data-column="${task.column}"] .cards`);
  const number = taskNumber(task.id);
  const next = [...list.children].find((other) => taskNumber(other.dataset.id) > number) || null;
  if (card.parentElement !== list || card.nextElementSibling !== next) {
    list.insertBefore(card, next);
  }
}
// ANCHOR_END: draw

function taskNumber(id) {
  const number = Number.parseInt(String(id).replace(/^task-/, ''), 10);
  return Number.isNaN(number) ? Number.MAX_SAFE_INTEGER : number;
}

function newCard(id) {
  const card = element('li', { class: 'card' });
  card.dataset.id = id;
  const head = element('div', { class: 'card-head' }, [
    element('span', { class: 'id' }, [id]),
    element('button', {
      class: 'delete',
      type: 'button',
      title: `Delete ${id}`,
      'aria-label': `Delete ${id}`,
      'data-action': 'delete',
    }, ['×']),
  ]);
  const comment = element('input', {
    class: 'comment',
    placeholder: 'Comment (stays in this tab)…',
    'aria-label': `Comment on ${id}`,
    maxlength: '200',
  });
  comment.addEventListener('input', () => typed(id, comment.value));
  comment.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && comment.value.trim()) {
      addComment(id, comment.value.trim());
      comment.value = '';
      stopTyping();
    } else if (event.key === 'Escape') {
      comment.value = '';
      stopTyping();
    }
  });
  comment.addEventListener('blur', stopTyping);
  card.append(
    head,
    element('p', { class: 'title' }),
    element('p', { class: 'typing', hidden: '' }),
    element('ul', { class: 'comments' }),
    comment,
    element('div', { class: 'moves' }),
  );
  cards.set(id, card);
  for (const text of comments.get(id) || []) $('.comments', card).append(element('li', {}, [text]));
  drawTyping(id);
  return card;
}

/** One button per other column: "← To do", "Done →". */
function drawMoves(card, task) {
  const here = COLUMNS.indexOf(task.column);
  const buttons = COLUMNS.filter((column) => column !== task.column).map((column) => {
    const name = COLUMN_NAMES[column];
    const label = COLUMNS.indexOf(column) < here ? `← ${name}` : `${name} →`;
    return element('button', {
      type: 'button',
      class: 'move',
      'data-action': 'move',
      'data-to': column,
      title: `Move ${task.id} to ${name}`,
    }, [label]);
  });
  $('.moves', card).replaceChildren(...buttons);
}

function drawCounts() {
  for (const column of COLUMNS) {
    const count = [...tasks.values()].filter((task) => task.column === column).length;
    $(`.column[data-column="${column}"] .count`).textContent = String(count);
  }
}

function addComment(id, text) {
  const list = comments.get(id) || [];
  list.push(text);
  comments.set(id, list);
  const card = cards.get(id);
  if (card) $('.comments', card).append(element('li', {}, [text]));
}

// -- Who is online, who is typing ---------------------------------------------

function drawOnline() {
  const people = [...online].sort().map((name) => {
    const person = element('li', { class: 'person', title: name }, [
      element('span', { class: 'avatar', 'aria-hidden': 'true' }, [name.slice(0, 1).toUpperCase()]),
      name,
    ]);
    person.dataset.user = name;
    person.querySelector('.avatar').style.setProperty('--hue', String(hue(name)));
    if (name === me) person.append(element('span', { class: 'you' }, ['(you)']));
    return person;
  });
  $('#online').replaceChildren(...people);
}

/** A colour for a name, the same in every tab. */
function hue(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

function typistsOf(taskId) {
  if (!typists.has(taskId)) typists.set(taskId, new Set());
  return typists.get(taskId);
}

/** "Bob is typing…" on the card, or nothing. */
function drawTyping(taskId) {
  const card = cards.get(taskId);
  if (!card) return;
  const users = [...(typists.get(taskId) || [])].sort();
  const line = $('.typing', card);
  line.hidden = users.length === 0;
  line.textContent = users.length === 0 ? '' : `${listOf(users)} ${users.length === 1 ? 'is' : 'are'} typing…`;
}

function listOf(names) {
  if (names.length < 2) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

// ANCHOR: typing
function typed(taskId, text) {
  if (!text.trim()) {
    stopTyping();
    return;
  }
  if (typingOn !== taskId) {
    stopTyping();
    typingOn = taskId;
    typingToldAt = 0;
  }
  if (Date.now() - typingToldAt >= TYPING_REFRESH_MS) {
    send({ type: 'typing', taskId });
    typingToldAt = Date.now();
  }
}

function stopTyping() {
  if (typingOn) {
    send({ type: 'typing_stopped', taskId: typingOn });
    typingOn = null;
  }
}
// ANCHOR_END: typing

// -- The connection's state -------------------------------------------------------

function setChannel(name, state) {
  channels[name] = state;
  drawConnection();
}

function drawConnection() {
  const live = channels.sse === 'open' && channels.ws === 'open';
  everLive ||= live;
  const state = live ? 'live' : everLive ? 'reconnecting' : 'connecting';
  const status = $('#connection');
  status.dataset.state = state;
  status.dataset.sse = channels.sse;
  status.dataset.ws = channels.ws;
  const down = [];
  if (channels.sse !== 'open') down.push('updates');
  if (channels.ws !== 'open') down.push('presence');
  $('.label', status).textContent = live
    ? 'Live'
    : `${everLive ? 'Reconnecting' : 'Connecting'}… (${down.join(' and ')})`;
  status.title = `Board updates (EventSource): ${channels.sse}. Presence (WebSocket): ${channels.ws}.`;
  document.body.classList.toggle('offline', !live);
}

/** 0.5 s, 1 s, 2 s … up to 10 s, each between half and all of that, so that
 *  a thousand tabs don't all come back in the same millisecond. */
function reconnectDelay(attempt) {
  const delay = Math.min(RECONNECT_LAST_MS, RECONNECT_FIRST_MS * 2 ** attempt);
  return delay / 2 + (Math.random() * delay) / 2;
}

// -- Small helpers -----------------------------------------------------------------

function notice(text) {
  const box = $('#notice');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, NOTICE_MS);
}

/** `<name attributes…>children</name>`; children are text or elements. */
function element(name, attributes = {}, children = []) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// -- Start ------------------------------------------------------------------------

if (me && boardId) {
  // Chapter 7: sign in before opening the channels.
  signInAgain(start);
} else {
  askWhoAndWhere();
}
