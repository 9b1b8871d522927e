// The client's page: shows the lines the client prints, and sends what is
// typed. Every key and every check stays in the client's process; this
// script only shows text (always as text: textContent, never HTML) and
// sends text.
'use strict';

(function () {
  // The classes a line may have; anything else shows as info.
  const KINDS = new Set(['message', 'rejected', 'warning', 'info']);
  // Lines kept on the page; older ones are removed (the client keeps the
  // last ones for a reload).
  const MAX_SHOWN = 5000;
  // How close to the bottom counts as following the conversation.
  const FOLLOW_PX = 48;

  const messages = document.getElementById('messages');
  const form = document.getElementById('composer');
  const box = document.getElementById('message');
  const send = document.getElementById('send');
  const nick = document.getElementById('nick');
  const layer = document.getElementById('layer');
  const status = document.getElementById('status');

  // The address's token has done its work (the page's cookie now proves
  // who it is): take it out of the address bar, where a projector or a
  // shoulder would show it.
  if (window.location.search) {
    window.history.replaceState(null, '', '/');
  }

  let lastNumber = 0;
  let ended = false;
  // Lines are sent one after the other, so they reach the chat in the
  // order they were typed.
  let sending = Promise.resolve();

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  function following() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < FOLLOW_PX;
  }

  function show(line) {
    const number = Number(line.n) || 0;
    if (number && number <= lastNumber) {
      return;
    }
    lastNumber = Math.max(lastNumber, number);
    const kind = KINDS.has(line.kind) ? line.kind : 'info';
    const element = document.createElement('div');
    element.className = 'line ' + kind + (line.own === true ? ' own' : '');
    if (number) {
      element.dataset.n = String(number);
    }
    element.textContent = String(line.text);
    const follow = following();
    messages.appendChild(element);
    while (messages.childElementCount > MAX_SHOWN) {
      messages.firstElementChild.remove();
    }
    if (follow) {
      messages.scrollTop = messages.scrollHeight;
    }
  }

  // A line the page says itself (a line it could not send).
  function local(text) {
    show({ kind: 'warning', text: text });
  }

  const source = new EventSource('/events');
  source.addEventListener('hello', function (event) {
    const hello = JSON.parse(event.data);
    nick.textContent = hello.nick;
    layer.textContent = hello.layer;
    document.title = hello.nick + ' · ' + hello.client;
    setStatus('connected', 'up');
  });
  source.addEventListener('line', function (event) {
    try {
      show(JSON.parse(event.data));
    } catch (e) {
      local('[page] a line could not be read');
    }
  });
  source.addEventListener('end', function () {
    ended = true;
    source.close();
    setStatus('left the chat', 'ended');
    box.disabled = true;
    send.disabled = true;
  });
  source.addEventListener('error', function () {
    if (!ended) {
      setStatus('reconnecting…', 'down');
    }
  });

  async function post(text) {
    try {
      const response = await fetch('/send', {
        method: 'POST',
        body: text,
        headers: { 'Content-Type': 'text/plain;charset=utf-8' },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!response.ok) {
        const why = (await response.text()).trim();
        local('[page] not sent (' + response.status + '): ' + why);
      }
    } catch (e) {
      local('[page] not sent: the client cannot be reached');
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const text = box.value;
    if (text === '' || ended) {
      return;
    }
    box.value = '';
    box.focus();
    sending = sending.then(function () {
      return post(text);
    });
  });
})();
