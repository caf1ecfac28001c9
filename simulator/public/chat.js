// The simulator's chat page: play WeChat users of one bot, see its replies live.
// No framework: state in a few variables, DOM built by small functions.
(function () {
  'use strict';

  var botSelect = document.getElementById('bot-select');
  var userList = document.getElementById('user-list');
  var messageList = document.getElementById('messages');
  var typingLine = document.getElementById('typing');

  var botId = null;
  var users = [];
  var currentUser = null;
  var timeline = [];
  var typingUntil = {};
  var unread = {};
  var events = null;
  var typingTimer = null;
  // The entry the next message quotes (the quote action), or null.
  var quoting = null;
  // Reply window and budget per user (§10) as the server last sent them, and
  // when each window closes on this page's clock (Date.now() + msLeft on receipt).
  var windows = {};
  var windowDeadline = {};

  // ---- item rendering: one function per item type (§4). Media helpers may replace entries. ----

  function textNode(text) {
    var span = document.createElement('span');
    span.textContent = text;
    return span;
  }

  function mediaLabel(label) {
    return function (item, describe) {
      var span = textNode(label + (typeof describe === 'function' ? ' ' + describe(item) : ''));
      span.className = 'media';
      return span;
    };
  }

  var ITEM_RENDERERS = {
    1: function (item) { return textNode((item.text_item && item.text_item.text) || ''); },
    2: mediaLabel('[图片 / image]'),
    3: function (item) {
      var transcript = item.voice_item && item.voice_item.text;
      return transcript ? textNode('[语音 / voice] ' + transcript) : mediaLabel('[语音 / voice]')(item);
    },
    4: function (item) {
      var name = (item.file_item && item.file_item.file_name) || '';
      return mediaLabel('[文件 / file]')(item, function () { return name; });
    },
    5: mediaLabel('[视频 / video]'),
    11: function (item) {
      var call = item.tool_call_start_item || {};
      return textNode('[工具调用 / tool call] ' + (call.tool_name || ''));
    },
    12: function (item) {
      var result = item.tool_call_result_item || {};
      return textNode('[工具结果 / tool result] ' + (result.tool_name || '') + ' ' + (result.status || ''));
    },
  };

  // ---- quotes (§4, §10): full form {message_item, title} or ID-only {svr_id, partial_text} ----

  var SUMMARY_LABELS = { 2: '[图片 / image]', 3: '[语音 / voice]', 4: '[文件 / file]', 5: '[视频 / video]' };

  function shorten(text) {
    var chars = Array.from(text);
    return chars.length > 40 ? chars.slice(0, 40).join('') + '…' : text;
  }

  // One line for an item: its text, a voice transcript, or a media label.
  function itemSummary(item) {
    if (!item) return '';
    if (item.text_item && item.text_item.text) return shorten(item.text_item.text);
    if (item.type === 3 && item.voice_item && item.voice_item.text) return SUMMARY_LABELS[3] + ' ' + shorten(item.voice_item.text);
    var label = SUMMARY_LABELS[item.type] || '';
    var name = item.file_item && item.file_item.file_name;
    return name ? label + ' ' + name : label;
  }

  function entrySummary(entry) {
    var withText = entry.items.filter(function (item) { return item.text_item && item.text_item.text; })[0];
    return itemSummary(withText || entry.items[0]);
  }

  function findEntry(messageId) {
    for (var i = 0; i < timeline.length; i++) if (timeline[i].messageId === messageId) return timeline[i];
    return null;
  }

  // The quote line: the quoted content when the ref carries it, else the timeline entry its svr_id names.
  function renderQuote(ref) {
    var quote = document.createElement('span');
    quote.className = 'quote';
    var carried = ref.title || itemSummary(ref.message_item);
    var svrId = ref.svr_id !== undefined && ref.svr_id !== null ? String(ref.svr_id) : '';
    var entry = !carried && svrId ? findEntry(svrId) : null;
    if (carried) quote.textContent = '引用 / quote: ' + carried;
    else if (entry) quote.textContent = '引用 / quote: ' + (entrySummary(entry) || '#' + svrId);
    else quote.textContent = svrId ? '引用 / quote #' + svrId : '引用 / quote: …';
    if (svrId) {
      quote.dataset.svrId = svrId;
      quote.title = 'svr_id ' + svrId;
      quote.addEventListener('click', function () {
        var target = messageList.querySelector('[data-message-id="' + svrId + '"]');
        if (target) target.scrollIntoView({ block: 'center' });
      });
    }
    return quote;
  }

  // context: {botId, messageId, index, direction} of the item, for renderers that fetch media.
  function renderItem(item, context) {
    var render = ITEM_RENDERERS[item.type] || function () { return textNode('[未知消息 / unknown item ' + item.type + ']'); };
    var wrapper = document.createElement('div');
    if (item.ref_msg) wrapper.appendChild(renderQuote(item.ref_msg));
    wrapper.appendChild(render(item, context || {}));
    return wrapper;
  }

  // Other scripts (chat-media.js) register renderers here and read the current bot and user.
  window.IlinkChat = {
    ITEM_RENDERERS: ITEM_RENDERERS,
    renderItem: renderItem,
    current: function () { return { botId: botId, userId: currentUser }; },
  };

  // ---- conversation ----

  function renderEntry(entry) {
    var li = document.createElement('li');
    li.className = entry.direction + (entry.recalled ? ' recalled' : '');
    li.dataset.messageId = entry.messageId;
    var bubble = document.createElement('div');
    bubble.className = 'bubble';
    entry.items.forEach(function (item, index) {
      var context = { botId: entry.botId, messageId: entry.messageId, index: index, direction: entry.direction };
      bubble.appendChild(renderItem(item, context));
    });
    var meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = (entry.direction === 'in' ? entry.userId : '机器人 / bot') + ' · ' + new Date(entry.time).toLocaleTimeString() + ' ';
    var quoteAction = document.createElement('button');
    quoteAction.type = 'button';
    quoteAction.className = 'quote-action';
    quoteAction.textContent = '引用 / quote';
    quoteAction.addEventListener('click', function () { startQuote(entry); });
    meta.appendChild(quoteAction);
    bubble.appendChild(meta);
    li.appendChild(bubble);
    return li;
  }

  function showConversation() {
    document.getElementById('conversation-title').textContent = currentUser ? currentUser : '';
    messageList.textContent = '';
    timeline
      .filter(function (entry) { return entry.userId === currentUser; })
      .forEach(function (entry) { messageList.appendChild(renderEntry(entry)); });
    messageList.scrollTop = messageList.scrollHeight;
    showTyping();
  }

  function showUsers() {
    userList.textContent = '';
    users.forEach(function (user) {
      var li = document.createElement('li');
      li.dataset.user = user;
      var name = document.createElement('span');
      name.className = 'user-name';
      name.textContent = user;
      li.appendChild(name);
      var status = document.createElement('span');
      status.className = 'window';
      li.appendChild(status);
      if (user === currentUser) li.className = 'active';
      else if (unread[user]) li.className = 'unread';
      li.addEventListener('click', function () { selectUser(user); });
      userList.appendChild(li);
    });
    showWindows();
  }

  // ---- reply window and budget (§10): "回复窗口 23:59:12 · 剩余 8/10 条" ----

  function setWindow(user, info) {
    windows[user] = info;
    windowDeadline[user] = info.open ? Date.now() + info.msLeft : 0;
  }

  function pad(number) {
    return (number < 10 ? '0' : '') + number;
  }

  function countdown(ms) {
    var seconds = Math.floor(ms / 1000);
    return pad(Math.floor(seconds / 3600)) + ':' + pad(Math.floor(seconds / 60) % 60) + ':' + pad(seconds % 60);
  }

  // {text, state}: state is 'none' (the user never wrote), 'closed', 'spent' (no sends left) or 'open'.
  function windowStatus(user) {
    var info = windows[user];
    if (!info || info.lastInboundAt === null) return { state: 'none', text: '无回复窗口（用户未发消息）/ no reply window (the user has not written)' };
    var left = (windowDeadline[user] || 0) - Date.now();
    if (left <= 0) return { state: 'closed', text: '回复窗口已关闭 / reply window closed' };
    var time = countdown(left);
    var budget = info.sendsLeft + '/' + info.sendsPerInbound;
    return {
      state: info.sendsLeft > 0 ? 'open' : 'spent',
      text: '回复窗口 ' + time + ' · 剩余 ' + budget + ' 条 / reply window ' + time + ' · ' + budget + ' left',
    };
  }

  // Updates the labels in place (called on every server update and once a second).
  function showWindows() {
    Array.prototype.forEach.call(userList.querySelectorAll('li[data-user]'), function (li) {
      var status = windowStatus(li.dataset.user);
      var label = li.querySelector('.window');
      label.textContent = status.text;
      label.dataset.state = status.state;
    });
    var line = document.getElementById('window-status');
    if (!currentUser) {
      line.hidden = true;
      return;
    }
    var current = windowStatus(currentUser);
    line.hidden = false;
    line.textContent = current.text;
    line.dataset.state = current.state;
  }

  function startQuote(entry) {
    quoting = entry;
    document.getElementById('quoting-text').textContent = '引用 / quoting: ' + (entrySummary(entry) || '#' + entry.messageId);
    document.getElementById('quoting').hidden = false;
    document.getElementById('text').focus();
  }

  function stopQuote() {
    quoting = null;
    document.getElementById('quoting').hidden = true;
  }

  function selectUser(user) {
    stopQuote();
    currentUser = user;
    unread[user] = false;
    showUsers();
    showConversation();
  }

  function addUser(user) {
    if (users.indexOf(user) < 0) users.push(user);
  }

  function showTyping() {
    clearTimeout(typingTimer);
    var until = typingUntil[currentUser] || 0;
    var remaining = until - Date.now();
    typingLine.hidden = remaining <= 0;
    if (remaining > 0) typingTimer = setTimeout(showTyping, remaining);
  }

  // ---- data ----

  function getJson(url, options) {
    return fetch(url, options).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body.error || res.statusText);
        return body;
      });
    });
  }

  function loadBots() {
    return getJson('/_chat/state').then(function (state) {
      botSelect.textContent = '';
      state.bots.forEach(function (bot) {
        var option = document.createElement('option');
        option.value = bot.botId;
        option.textContent = bot.botId + (bot.sessionExpired ? ' (会话过期 / session expired)' : '');
        botSelect.appendChild(option);
      });
      document.getElementById('no-bots').hidden = state.bots.length > 0;
      document.getElementById('chat').hidden = state.bots.length === 0;
      var keep = state.bots.some(function (bot) { return bot.botId === botId; });
      var next = keep ? botId : state.bots.length ? state.bots[state.bots.length - 1].botId : null;
      botSelect.value = next || '';
      if (next !== botId) selectBot(next);
    });
  }

  function selectBot(id) {
    stopQuote();
    botId = id;
    if (events) events.close();
    events = null;
    if (!id) return;
    getJson('/_chat/state?botId=' + encodeURIComponent(id)).then(function (state) {
      timeline = state.timeline;
      users = state.users.slice();
      typingUntil = {};
      windows = {};
      windowDeadline = {};
      Object.keys(state.windows || {}).forEach(function (user) { setWindow(user, state.windows[user]); });
      Object.keys(state.typing).forEach(function (user) {
        if (state.typing[user].typing) typingUntil[user] = state.typing[user].until;
      });
      currentUser = users[0] || null;
      showUsers();
      showConversation();
      listen(id);
    });
  }

  // Server-Sent Events: replies, typing, recalls for the chosen bot.
  function listen(id) {
    events = new EventSource('/_chat/events?botId=' + encodeURIComponent(id));
    events.addEventListener('message', function (event) {
      var entry = JSON.parse(event.data);
      timeline.push(entry);
      addUser(entry.userId);
      if (entry.userId === currentUser) {
        messageList.appendChild(renderEntry(entry));
        messageList.scrollTop = messageList.scrollHeight;
      } else {
        unread[entry.userId] = true;
      }
      // A reply ends "typing…" on a real phone too.
      if (entry.direction === 'out') typingUntil[entry.userId] = 0;
      showUsers();
      showTyping();
    });
    events.addEventListener('typing', function (event) {
      var typing = JSON.parse(event.data);
      typingUntil[typing.userId] = typing.typing ? typing.until : 0;
      showTyping();
    });
    events.addEventListener('recall', function (event) {
      var recall = JSON.parse(event.data);
      timeline.forEach(function (entry) { if (entry.messageId === recall.messageId) entry.recalled = true; });
      var li = messageList.querySelector('[data-message-id="' + recall.messageId + '"]');
      if (li) li.classList.add('recalled');
    });
    events.addEventListener('windows', function (event) {
      var changed = JSON.parse(event.data);
      Object.keys(changed).forEach(function (user) { setWindow(user, changed[user]); });
      showWindows();
    });
    events.addEventListener('bots', function () { loadBots(); });
  }

  // ---- actions ----

  botSelect.addEventListener('change', function () { selectBot(botSelect.value); });
  document.getElementById('quoting-cancel').addEventListener('click', stopQuote);

  document.getElementById('add-user').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = document.getElementById('new-user');
    var user = input.value.trim();
    if (!user) return;
    if (user.indexOf('@') < 0) user += '@im.wechat';
    addUser(user);
    input.value = '';
    selectUser(user);
  });

  document.getElementById('composer').addEventListener('submit', function (event) {
    event.preventDefault();
    var textArea = document.getElementById('text');
    var text = textArea.value;
    if (!text.trim() || !botId || !currentUser) return;
    var message = { botId: botId, from: currentUser, text: text };
    if (quoting) message.quote = { messageId: quoting.messageId };
    getJson('/_admin/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(message),
    })
      .then(function () {
        textArea.value = '';
        stopQuote();
      })
      .catch(function (error) { alert(error.message); });
  });

  document.getElementById('text').addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      document.getElementById('composer').requestSubmit();
    }
  });

  document.getElementById('create-bot').addEventListener('click', function () {
    getJson('/_admin/bots', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }).then(function (bot) {
      document.getElementById('new-bot').hidden = false;
      document.getElementById('new-bot-id').textContent = bot.botId;
      document.getElementById('new-bot-token').textContent = bot.token;
      document.getElementById('new-bot-base').textContent = bot.baseUrl;
      botId = null;
      loadBots();
    });
  });

  getJson('/_admin/info').then(function (info) {
    document.getElementById('api-base').textContent = info.apiBaseUrl;
  });
  loadBots();
  // The reply window countdown ticks on the page's clock.
  setInterval(showWindows, 1000);
  // Without a bot there is no event stream yet: look for a QR login now and then.
  setInterval(function () { if (!botId) loadBots(); }, 3000);
})();
