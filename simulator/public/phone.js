// The simulated phone: Confirm / Cancel for one QR code, and live status.
(function () {
  'use strict';
  var qrcode = document.body.dataset.qrcode;
  var statusLine = document.getElementById('status');
  var verifyBox = document.getElementById('verify');
  var verifyCode = document.getElementById('verify-code');

  var LABELS = {
    wait: '等待扫码 / waiting for scan',
    scaned: '已扫码，等待确认 / scanned, waiting for confirmation',
    need_verifycode: '等待客户端输入数字 / waiting for the client to enter the number',
    verify_code_blocked: '数字错误次数过多 / too many wrong numbers',
    expired: '二维码已失效 / QR code expired',
    confirmed: '已登录 / logged in',
    binded_redirect: '已绑定，无需重复登录 / already bound',
  };

  function show(status, error) {
    statusLine.textContent = '状态 / Status: ' + (LABELS[status] || status) + (error ? ' — ' + error : '');
  }

  function post(action) {
    var userId = document.getElementById('user-id').value.trim();
    fetch('/_phone/' + encodeURIComponent(qrcode) + '/' + action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId: userId }),
    })
      .then(function (res) { return res.json(); })
      .then(function (answer) { show(answer.status, answer.error); });
  }

  // The verify code stays pending until the client enters it; follow the status meanwhile.
  function refresh() {
    fetch('/_phone/' + encodeURIComponent(qrcode))
      .then(function (res) { return res.json(); })
      .then(function (view) {
        show(view.status);
        verifyBox.hidden = !view.verifyCode;
        if (view.verifyCode) verifyCode.textContent = view.verifyCode;
      })
      .catch(function () {});
  }

  document.getElementById('confirm').addEventListener('click', function () { post('confirm'); });
  document.getElementById('cancel').addEventListener('click', function () { post('cancel'); });
  show(document.body.dataset.status);
  setInterval(refresh, 1500);
})();
