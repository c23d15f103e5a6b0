/**
 * The dashboard's only style and script, inlined into the page: no build step, no CDN, and
 * nothing to fetch when a person opens it in the middle of an incident.
 */
export const DASHBOARD_CSS = `
:root { --ink:#0b0d10; --paper:#ffffff; --ground:#eef0f3; --line:#1b1f24; --muted:#3d4450;
  --blue:#0a4fc2; --green:#0b6b2d; --amber:#ffb000; --red:#b3001b; --grey:#4a5361; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--ground); }
.num, td, .age { font-variant-numeric: tabular-nums; }
header.top { display:flex; flex-wrap:wrap; align-items:center; gap:12px 20px; padding:12px 20px; background:var(--ink); color:#fff; }
header.top h1 { margin:0; font-size:22px; letter-spacing:.02em; }
header.top .who { font-size:18px; }
header.top .spacer { flex:1; }
header.top a { color:#fff; }
.badge { display:inline-block; padding:2px 8px; border-radius:4px; font-size:13px; font-weight:700; letter-spacing:.04em; text-transform:uppercase; border:2px solid transparent; white-space:nowrap; }
.b-primary { background:var(--blue); color:#fff; }
.b-replica { background:#fff; color:var(--ink); border-color:var(--ink); }
.b-self { background:#fff; color:var(--ink); border:2px dashed var(--ink); }
.b-late, .b-bad { background:var(--red); color:#fff; }
.b-warn, .b-drain { background:var(--amber); color:#000; }
.b-ok { background:var(--green); color:#fff; }
.b-neutral { background:var(--grey); color:#fff; }
button { font:inherit; font-weight:600; padding:6px 14px; border-radius:6px; border:2px solid var(--ink); background:#fff; color:var(--ink); cursor:pointer; }
button:hover:not(:disabled) { background:var(--ink); color:#fff; }
button:focus-visible { outline:3px solid var(--blue); outline-offset:2px; }
button:disabled { opacity:.45; cursor:not-allowed; }
button.danger { border-color:var(--red); color:var(--red); }
button.danger:hover:not(:disabled) { background:var(--red); color:#fff; }
button.small { padding:2px 10px; font-size:14px; }
header.top button { background:transparent; color:#fff; border-color:#fff; }
header.top button:hover:not(:disabled) { background:#fff; color:var(--ink); }
main { padding:16px 20px 40px; display:grid; gap:18px; }
.summary { display:flex; flex-wrap:wrap; gap:12px; }
.stat { background:var(--paper); border:2px solid var(--line); border-radius:8px; padding:10px 14px; min-width:170px; }
.stat .k { font-size:13px; font-weight:700; text-transform:uppercase; color:var(--muted); }
.stat .v { font-size:24px; font-weight:700; }
.stat .s { font-size:14px; color:var(--muted); }
h2 { margin:4px 0 0; font-size:18px; text-transform:uppercase; letter-spacing:.05em; }
.nodes { display:grid; grid-template-columns:repeat(auto-fill,minmax(430px,1fr)); gap:14px; }
.node .rows { overflow-x:auto; }
.node { background:var(--paper); border:2px solid var(--line); border-radius:8px; overflow:hidden; }
.node.primary { border:4px solid var(--blue); }
.node.late { border-color:var(--red); }
.node-head { display:flex; flex-wrap:wrap; align-items:center; gap:8px; padding:10px 12px; border-bottom:2px solid var(--line); }
.node.primary .node-head { background:#e3ecfb; }
.node-head h3 { margin:0; font-size:20px; }
.node-head .spacer { flex:1; }
.node-meta { padding:6px 12px; font-size:14px; color:var(--muted); border-bottom:1px solid #c8ccd2; }
.node-meta strong { color:var(--ink); }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:5px 5px; border-bottom:1px solid #c8ccd2; white-space:nowrap; }
td.act { width:1%; text-align:right; }
td.age-cell { white-space:normal; min-width:60px; }
button.small { padding:2px 8px; }
td .badge { font-size:13px; padding:1px 6px; text-transform:none; letter-spacing:0; }
th:first-child, td:first-child { padding-left:12px; }
th { font-size:13px; text-transform:uppercase; color:var(--muted); }
td.shard { font-weight:700; font-size:18px; }
.empty { padding:10px 12px; color:var(--muted); font-style:italic; }
.timeline { background:var(--paper); border:2px solid var(--line); border-radius:8px; list-style:none; margin:0; padding:0; max-height:420px; overflow:auto; }
.timeline li { display:grid; grid-template-columns:88px 70px 96px 1fr; gap:10px; align-items:center; padding:6px 12px; border-bottom:1px solid #c8ccd2; }
.timeline .when { font-weight:700; }
.timeline .age { color:var(--muted); font-size:14px; }
.k-takeover { background:#5b1fa8; color:#fff; } .k-failover, .k-dead { background:var(--red); color:#fff; }
.k-move { background:var(--blue); color:#fff; } .k-drain, .k-leave { background:var(--amber); color:#000; } .k-left { background:var(--grey); color:#fff; }
.k-join, .k-rejoin, .k-undrain { background:var(--green); color:#fff; } .k-place { background:var(--grey); color:#fff; }
#notice { position:fixed; left:20px; right:20px; bottom:16px; z-index:5; }
#notice:empty { display:none; }
.note { margin-top:12px; box-shadow:0 4px 18px rgba(0,0,0,.25); padding:10px 14px; border-radius:6px; border:2px solid var(--ink); background:#fff; font-weight:600; }
.note.error { border-color:var(--red); background:#fde7ea; color:#5c000d; }
.note.ok { border-color:var(--green); background:#e3f5e9; color:#053d18; }
#conn { font-size:14px; }
#conn.lost { background:var(--red); color:#fff; padding:2px 8px; border-radius:4px; font-weight:700; }
dialog { border:3px solid var(--ink); border-radius:10px; padding:18px 20px; max-width:520px; }
dialog::backdrop { background:rgba(0,0,0,.45); }
dialog h3 { margin:0 0 8px; }
dialog .choices { display:flex; flex-wrap:wrap; gap:10px; margin:14px 0 4px; }
.login { max-width:460px; margin:10vh auto; background:var(--paper); border:2px solid var(--line); border-radius:10px; padding:22px 24px; }
.login h1 { margin:0 0 6px; }
.login input { width:100%; font:inherit; padding:8px 10px; border:2px solid var(--ink); border-radius:6px; margin:8px 0 14px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
`;

/**
 * Polls the live panels (HTML rendered by the same components as the first load) every
 * second, and runs the actions through the admin routes with the session cookie. Plain ES2017
 * without template literals, so it can sit inside this TypeScript string untouched.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  var live = document.getElementById('live');
  var conn = document.getElementById('conn');
  var notice = document.getElementById('notice');
  var dialog = document.getElementById('action');
  var lastOk = Date.now();
  var busy = false;
  var shown = null;
  var H = { 'content-type': 'application/json', 'x-shardline-dashboard': '1' };

  function text(el, value) { el.textContent = value; return el; }
  function el(tag, cls, value) { var e = document.createElement(tag); if (cls) e.className = cls; if (value !== undefined) e.textContent = value; return e; }

  function refresh() {
    return fetch('/dashboard/live', { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
      if (res.status === 401) { location.reload(); return; }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.text().then(function (html) {
        if (html !== shown && !holding) swap(html);
        lastOk = Date.now();
        conn.className = '';
        text(conn, 'live · updated ' + new Date().toLocaleTimeString());
      });
    }).catch(function (err) {
      conn.className = 'lost';
      text(conn, 'LOST CONTACT with this node for ' + Math.round((Date.now() - lastOk) / 1000) + ' s (' + err.message + ') · retrying');
    });
  }
  // A press must not straddle a swap (the click would land on no button), and keyboard
  // focus must survive one: swaps wait while a pointer is down, and focus moves to the
  // same control in the new HTML.
  var holding = false;
  document.addEventListener('pointerdown', function () { holding = true; }, true);
  document.addEventListener('pointerup', function () { setTimeout(function () { holding = false; }, 50); }, true);
  document.addEventListener('pointercancel', function () { holding = false; }, true);

  function keyOf(e) {
    if (!e || !e.getAttribute || !live.contains(e)) return null;
    var k = ['data-action', 'data-node', 'data-shard'].map(function (a) { return e.getAttribute(a); });
    return k[0] ? k : null;
  }
  function swap(html) {
    var key = keyOf(document.activeElement);
    live.innerHTML = html;
    shown = html;
    if (!key) return;
    var buttons = live.querySelectorAll('button[data-action]');
    for (var i = 0; i < buttons.length; i++) {
      var k = keyOf(buttons[i]);
      if (k && k[0] === key[0] && k[1] === key[1] && k[2] === key[2]) { buttons[i].focus(); return; }
    }
  }

  function loop() { refresh().then(function () { setTimeout(loop, 1000); }); }

  function say(kind, message) {
    notice.innerHTML = '';
    var n = el('div', 'note ' + kind, message);
    n.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    notice.appendChild(n);
  }

  function call(label, path, body) {
    if (busy) return;
    busy = true;
    say('', label + ': running…');
    fetch(path, { method: 'POST', credentials: 'same-origin', headers: H, body: JSON.stringify(body || {}) }).then(function (res) {
      return res.text().then(function (raw) {
        var json = null;
        try { json = JSON.parse(raw); } catch (e) { json = null; }
        if (res.ok) { say('ok', label + (res.status === 202 ? ': accepted, still in progress. ' : ': done. ') + summarize(json)); return; }
        var err = json && json.error ? json.error : { code: 'HTTP_' + res.status, message: raw.slice(0, 300) };
        var primary = err.details && err.details.primary;
        say('error', label + ' failed (' + err.code + '): ' + err.message + (primary ? ' Open the primary\\'s dashboard (' + primary + ') to do this.' : ''));
      });
    }).catch(function (err) {
      say('error', label + ' failed: ' + err.message);
    }).then(function () { busy = false; refresh(); });
  }

  function summarize(json) {
    if (!json || typeof json !== 'object') return '';
    var parts = [];
    Object.keys(json).forEach(function (k) {
      var v = json[k];
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') parts.push(k + ' ' + v);
    });
    return parts.slice(0, 8).join(', ');
  }

  function ask(title, detail, choices) {
    dialog.innerHTML = '';
    dialog.appendChild(el('h3', '', title));
    if (detail) dialog.appendChild(el('p', '', detail));
    var row = el('div', 'choices');
    choices.forEach(function (c) {
      var b = el('button', c.cls || '', c.label);
      b.type = 'button';
      if (c.id) b.setAttribute('data-choice', c.id);
      b.addEventListener('click', function () { dialog.close(); if (c.run) c.run(); });
      row.appendChild(b);
    });
    var cancel = el('button', '', 'Cancel');
    cancel.type = 'button';
    cancel.addEventListener('click', function () { dialog.close(); });
    row.appendChild(cancel);
    dialog.appendChild(row);
    dialog.showModal();
  }

  document.addEventListener('click', function (event) {
    var b = event.target && event.target.closest ? event.target.closest('button[data-action]') : null;
    if (!b || b.disabled) return;
    var a = b.getAttribute('data-action');
    var node = b.getAttribute('data-node');
    if (a === 'move') {
      var shard = b.getAttribute('data-shard');
      var targets = (b.getAttribute('data-targets') || '').split(',').filter(Boolean);
      ask('Move shard ' + shard + ' (now on ' + b.getAttribute('data-from') + ') to:',
        'The shard detaches there and resumes its session on the target: no event is lost, none is replayed twice.',
        targets.map(function (t) {
          return { label: t, id: t, run: function () { call('Move shard ' + shard + ' to ' + t, '/shards/' + shard + '/move', { to: t }); } };
        }));
    } else if (a === 'drain' || a === 'undrain') {
      ask((a === 'drain' ? 'Drain ' : 'Undrain ') + node + '?',
        a === 'drain' ? 'Every shard on ' + node + ' moves to the other nodes by resume, and it gets no new ones (maintenance; a stopping node leaves by itself).' : node + ' takes shards again.',
        [{ label: (a === 'drain' ? 'Drain ' : 'Undrain ') + node, id: a, cls: a === 'drain' ? 'danger' : '',
           run: function () { call((a === 'drain' ? 'Drain ' : 'Undrain ') + node, '/nodes/' + encodeURIComponent(node) + '/' + a); } }]);
    } else if (a === 'reshard') {
      var count = Number(b.getAttribute('data-count')) || 1;
      ask('Reshard from ' + count + ' shards to:',
        'A new shard set identifies beside this one (one IDENTIFY per new shard, through the identify buckets), then handlers move to it group by group; events carrying an id reach them once.',
        [{ label: String(count * 2) + ' (range by range)', id: 'double', run: function () { call('Reshard to ' + count * 2, '/reshard', { shardCount: count * 2, via: 'dashboard' }); } },
         { label: "Discord's recommended count", id: 'auto', run: function () { call('Reshard to the recommended count', '/reshard', { shardCount: 'auto', via: 'dashboard' }); } }]);
    } else if (a === 'takeover') {
      ask('Make ' + node + ' the primary?',
        'LiteFS hands the lease to ' + node + '; it becomes the only writer and coordinates the cluster. Writes pause briefly during the handoff.',
        [{ label: 'Take over on ' + node, id: 'takeover', cls: 'danger', run: function () { call('Takeover on ' + node, '/takeover'); } }]);
    }
  });

  loop();
})();
`;
