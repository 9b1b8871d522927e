// The teacher's view: shows what the server sees, as the server's feed
// pushes it. Every nick and every message comes from the room, so each is
// set as text (textContent), never as HTML.
'use strict';

(function () {
  // Elements kept in the traffic; older ones are removed.
  const MAX_SHOWN = 500;
  // How close to the bottom counts as following the traffic.
  const FOLLOW_PX = 80;
  // What the server's refusals are, by who refused.
  const REFUSED_BY = {
    request: 'not the protocol',
    chat: "the chat's rules",
    guard: 'the guard',
    full: 'server full',
  };
  // What a rogue server did, in words.
  const ROGUE_SAID = {
    tampered: 'rogue server: tampered with it, relayed instead:',
    impersonated: 'rogue server: relayed it as',
    replayed: 'rogue server: will relay it again, later',
    dropped: 'rogue server: dropped it (the sender was told ok)',
    substituted: "rogue server: signed it again with its own key",
  };

  const traffic = document.getElementById('traffic');
  const members = document.getElementById('members');
  const status = document.getElementById('status');
  // The last frame of each nick, for what a rogue server does to it.
  const lastFrame = new Map();
  let lastNumber = 0;

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) {
      made.className = className;
    }
    if (text !== undefined) {
      made.textContent = String(text);
    }
    return made;
  }

  function setText(id, value) {
    document.getElementById(id).textContent = String(value);
  }

  // A colour of the nick's own, never the red of an attack.
  function hue(nick) {
    let hash = 0;
    for (const c of String(nick)) {
      hash = (hash * 31 + c.codePointAt(0)) % 280;
    }
    return 40 + hash;
  }

  function nickChip(nick) {
    const chip = element('span', 'nick', nick);
    chip.style.backgroundColor = 'hsl(' + hue(nick) + ', 55%, 38%)';
    return chip;
  }

  function following() {
    return traffic.scrollHeight - traffic.scrollTop - traffic.clientHeight < FOLLOW_PX;
  }

  // Changes the traffic, keeping the newest in view if it was.
  function change(edit) {
    const follow = following();
    edit();
    while (traffic.childElementCount > MAX_SHOWN) {
      traffic.firstElementChild.remove();
    }
    if (follow) {
      traffic.scrollTop = traffic.scrollHeight;
    }
  }

  function add(made) {
    change(function () { traffic.appendChild(made); });
  }

  // `text` in `tag`, the part that differs from `before` marked.
  function marked(tag, className, text, before) {
    const made = element(tag, className);
    text = String(text);
    if (typeof before !== 'string') {
      made.textContent = text;
      return made;
    }
    let start = 0;
    while (start < text.length && text[start] === before[start]) {
      start += 1;
    }
    let end = 0;
    while (end < text.length - start && end < before.length - start &&
           text[text.length - 1 - end] === before[before.length - 1 - end]) {
      end += 1;
    }
    made.appendChild(document.createTextNode(text.slice(0, start)));
    if (start < text.length - end) {
      made.appendChild(element('mark', null, text.slice(start, text.length - end)));
    }
    made.appendChild(document.createTextNode(text.slice(text.length - end)));
    return made;
  }

  // A message as the server holds it: its words, or its salt and token;
  // what differs from `before` (the message as it came) is marked.
  function held(message, before) {
    before = before || {};
    const box = element('div', 'held');
    if (typeof message.text === 'string') {
      box.appendChild(marked('p', 'text', message.text, before.text));
      return box;
    }
    for (const name of ['salt', 'token']) {
      const field = element('div', 'field');
      field.appendChild(element('span', 'label', name));
      field.appendChild(marked('code', name, message[name], before[name]));
      box.appendChild(field);
    }
    return box;
  }

  function frame(item) {
    const sealed = typeof item.text !== 'string';
    const made = element('div', 'frame ' + (sealed ? 'sealed' : 'clear'));
    const who = element('div', 'who');
    who.appendChild(nickChip(item.nick));
    who.appendChild(element('span', 'time', new Date().toLocaleTimeString()));
    made.appendChild(who);
    made.appendChild(held(item));
    made.appendChild(element('ul', 'actions'));
    lastFrame.set(item.nick, { element: made, held: item });
    add(made);
  }

  function rogue(item) {
    const said = ROGUE_SAID[item.action] || 'rogue server: ' + String(item.action);
    const action = element('li', 'action ' + String(item.action).replace(/[^a-z]/g, ''));
    action.textContent = said;
    if (item.action === 'impersonated') {
      action.textContent = said + ' ' + String(item.as);
    }
    const target = lastFrame.get(item.nick);
    if (item.action === 'tampered' && item.now) {
      action.appendChild(held(item.now, target && target.held));
    }
    if (target) {
      change(function () {
        target.element.classList.add('attacked');
        target.element.querySelector('.actions').appendChild(action);
      });
    } else {
      add(element('div', 'event rogue', said + ' (a message of ' + String(item.nick) + ')'));
    }
  }

  function refused(item) {
    const made = element('div', 'event refused');
    made.appendChild(element('span', 'by', REFUSED_BY[item.by] || String(item.by)));
    made.appendChild(document.createTextNode(String(item.what) + ' refused: ' + String(item.reason)));
    add(made);
  }

  function show(item) {
    const number = Number(item.n) || 0;
    if (number && number <= lastNumber) {
      return;
    }
    lastNumber = Math.max(lastNumber, number);
    switch (item.type) {
      case 'relayed': frame(item); break;
      case 'rogue': rogue(item); break;
      case 'refused': refused(item); break;
      case 'joined': add(element('div', 'event joined', String(item.nick) + ' joined')); break;
      case 'left': add(element('div', 'event left', String(item.nick) + ' left')); break;
      case 'missed': notShown(item.count); break;
      case 'scene':
        lastFrame.clear();
        setText('scene', item.title);
        add(element('div', 'scene', item.title));
        break;
      default: break;
    }
  }

  function notShown(count) {
    add(element('div', 'skipped', String(count) + ' frames not shown'));
  }

  function snapshot(state) {
    members.replaceChildren();
    for (const nick of state.members) {
      members.appendChild(element('li', null, nick));
    }
    setText('member-count', state.members.length);
    setText('requests', state.connections.requests);
    setText('subscribers', state.connections.subscribers);
    setText('relayed', state.totals.relayed);
    setText('rogue', state.totals.rogue);
    for (const by of Object.keys(REFUSED_BY)) {
      setText('refused-' + by, state.totals.refused[by]);
    }
  }

  const source = new EventSource('/events');
  source.addEventListener('hello', function (event) {
    const hello = JSON.parse(event.data);
    setText('server', hello.title);
    document.title = 'What ' + hello.title + ' sees';
    status.textContent = 'live';
    status.dataset.state = 'up';
  });
  source.addEventListener('update', function (event) {
    const update = JSON.parse(event.data);
    if (update.not_shown > 0) {
      notShown(update.not_shown);
    }
    for (const item of update.events) {
      show(item);
    }
    if (update.snapshot) {
      snapshot(update.snapshot);
    }
  });
  source.addEventListener('error', function () {
    status.textContent = 'reconnecting…';
    status.dataset.state = 'down';
  });
})();
