// Media on the chat page: renderers for image, voice, file and video items,
// and sending media as the chosen user (photo/video, file, paste, drop, voice sample).
// The bytes come decrypted from /_chat/media; the simulator looks up the key itself.
(function () {
  'use strict';

  var chat = window.IlinkChat;
  var MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
  var statusLine = document.getElementById('media-status');

  // ---- small helpers ----

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function mediaUrl(context) {
    return '/_chat/media?botId=' + encodeURIComponent(context.botId) +
      '&messageId=' + encodeURIComponent(context.messageId) + '&index=' + context.index;
  }

  function formatSize(bytes) {
    var n = Number(bytes);
    if (!isFinite(n) || n < 0) return '';
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
    return (n / (1024 * 1024)).toFixed(1) + ' MB';
  }

  function formatDuration(ms) {
    var seconds = Math.max(0, Math.round(Number(ms) / 100) / 10);
    return isFinite(seconds) ? seconds + '″' : '';
  }

  // "PDF" for report.pdf: shown on the file card's icon (no emoji: many systems lack the font).
  function fileExtension(name) {
    var dot = name.lastIndexOf('.');
    var extension = dot > 0 ? name.slice(dot + 1, dot + 5).toUpperCase() : '';
    return extension || 'FILE';
  }

  function downloadLink(url, name, label) {
    var link = el('a', 'download', label);
    link.href = url;
    link.download = name;
    return link;
  }

  // An image that loads after its bubble was added grows the list: stay at the bottom if we were there.
  function keepAtBottom(node, grownBy) {
    var list = node.closest('.messages');
    if (list && list.scrollHeight - list.scrollTop - list.clientHeight <= grownBy + 40) list.scrollTop = list.scrollHeight;
  }

  // Shown instead of media whose bytes the simulator cannot serve.
  function failed(label) {
    return el('span', 'media', label + ' (无法加载 / could not load)');
  }

  // ---- renderers: one function per item type ----

  function renderImage(item, context) {
    var url = mediaUrl(context);
    var link = el('a', 'image-link');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.title = '点击查看原图 / Click to open';
    var img = el('img', 'thumb');
    img.alt = '图片 / image';
    img.src = url;
    img.addEventListener('load', function () { keepAtBottom(link, img.height); });
    img.addEventListener('error', function () { link.replaceWith(failed('[图片 / image]')); });
    link.appendChild(img);
    return link;
  }

  function renderFile(item, context) {
    var file = item.file_item || {};
    var name = file.file_name || 'file.bin';
    var box = el('div', 'file-card');
    box.appendChild(el('span', 'file-icon', fileExtension(name)));
    var text = el('span', 'file-text');
    text.appendChild(downloadLink(mediaUrl(context), name, name));
    text.appendChild(el('span', 'file-size', formatSize(file.len) + ' · 文件 / file'));
    box.appendChild(text);
    return box;
  }

  function renderVideo(item, context) {
    var url = mediaUrl(context);
    var box = el('div', 'video-box');
    var video = el('video', 'video');
    video.controls = true;
    video.preload = 'metadata';
    video.src = url;
    box.appendChild(video);
    box.appendChild(downloadLink(url, 'video.mp4', '下载视频 / Download video'));
    return box;
  }

  function renderVoice(item, context) {
    var voice = item.voice_item || {};
    var box = el('div', 'voice-box');
    box.appendChild(el('span', 'voice-label', '语音 / voice ' + formatDuration(voice.playtime)));
    var audio = el('audio', 'voice');
    audio.controls = true;
    audio.preload = 'none';
    audio.src = mediaUrl(context);
    box.appendChild(audio);
    if (voice.text) box.appendChild(el('span', 'transcript', '转文字 / transcript: ' + voice.text));
    return box;
  }

  chat.ITEM_RENDERERS[2] = renderImage;
  chat.ITEM_RENDERERS[3] = renderVoice;
  chat.ITEM_RENDERERS[4] = renderFile;
  chat.ITEM_RENDERERS[5] = renderVideo;

  // ---- sending media as the user ----

  function showStatus(text, isError) {
    statusLine.textContent = text || '';
    statusLine.hidden = !text;
    statusLine.classList.toggle('error', !!isError);
  }

  function target() {
    var current = chat.current();
    if (!current.botId || !current.userId) throw new Error('先选机器人和用户 / pick a bot and a user first');
    return current;
  }

  function post(url, body) {
    return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: body }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (answer) {
        if (!res.ok) throw new Error(answer.error || res.status + ' ' + res.statusText);
        return answer;
      });
    });
  }

  function run(label, send) {
    showStatus(label + '… / sending…');
    try {
      return send()
        .then(function () { showStatus(''); })
        .catch(function (error) { showStatus(error.message, true); });
    } catch (error) {
      showStatus(error.message, true);
      return Promise.resolve();
    }
  }

  // image/* and video/* as what they are, anything else as a file; `asFile` forces a file.
  function kindFor(file, asFile) {
    if (asFile) return 'file';
    if (/^image\//.test(file.type)) return 'image';
    if (/^video\//.test(file.type)) return 'video';
    return 'file';
  }

  function sendFile(file, asFile) {
    return run('上传 / uploading ' + (file.name || ''), function () {
      if (file.size > MAX_UPLOAD_BYTES) throw new Error('文件太大 / File too large: ' + formatSize(file.size) + ', the limit is 100 MB');
      var who = target();
      var url = '/_chat/upload?botId=' + encodeURIComponent(who.botId) + '&userId=' + encodeURIComponent(who.userId) +
        '&kind=' + kindFor(file, asFile) + '&fileName=' + encodeURIComponent(file.name || 'file.bin');
      return post(url, file);
    });
  }

  function sendVoiceSample() {
    return run('发送语音 / sending voice', function () {
      var who = target();
      return post('/_chat/voice-sample?botId=' + encodeURIComponent(who.botId) + '&userId=' + encodeURIComponent(who.userId), '');
    });
  }

  function sendFiles(files, asFile) {
    Array.prototype.reduce.call(files, function (previous, file) {
      return previous.then(function () { return sendFile(file, asFile); });
    }, Promise.resolve());
  }

  function watchInput(id, asFile) {
    var input = document.getElementById(id);
    input.addEventListener('change', function () {
      sendFiles(input.files, asFile);
      input.value = '';
    });
  }

  watchInput('image-input', false);
  watchInput('file-input', true);
  document.getElementById('voice-sample').addEventListener('click', sendVoiceSample);

  // Paste an image or a file into the text box.
  document.getElementById('text').addEventListener('paste', function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (!files || !files.length) return;
    event.preventDefault();
    sendFiles(files, false);
  });

  // Drop files onto the conversation.
  var conversation = document.querySelector('.conversation');
  conversation.addEventListener('dragover', function (event) { event.preventDefault(); });
  conversation.addEventListener('drop', function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) sendFiles(event.dataTransfer.files, false);
  });
})();
