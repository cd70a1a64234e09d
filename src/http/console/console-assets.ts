/**
 * The console's stylesheet and its one small script, served by the gateway at `/console/assets/<name>` (the CSP
 * allows styles and scripts from the gateway only: nothing inline, no CDN). Pages work without the script; it
 * only adds a confirmation before destructive buttons (`data-confirm`), copy buttons (`data-copy`), the tool
 * picker's filter (`data-tool-filter`), a chosen file
 * read into a text area (`data-file-into`) and a progress bar while a large form is sent (`data-progress`). The
 * stylesheet alone shows the toolset form's "needs approval" boxes only while its Approval is "these tools".
 */
export const consoleAssets: Readonly<Record<string, { readonly type: string; readonly body: string }>> = {
  'console.css': {
    type: 'text/css; charset=utf-8',
    body: `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;background:#f6f7f9;display:grid;grid-template-columns:13rem 1fr;grid-template-rows:auto 1fr;min-height:100vh}
a{color:#0b57d0}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
header.top{grid-column:1/3;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem;padding:.6rem 1rem;background:#1b2a41;color:#fff}
header.top .brand{font-weight:700}
header.top .tenant{background:#33476b;border-radius:4px;padding:0 .5rem}
header.top .who{margin-left:auto}
header.top small{color:#c9d3e3}
header.top a{color:#c9dcff;margin-right:.6rem}
form.operator-signin{display:flex;flex-direction:column;align-items:flex-start;gap:.4rem;max-width:28rem}
form.operator-signin input{width:100%;box-sizing:border-box}
header.top button{background:transparent;color:#fff;border:1px solid #8aa0c4;border-radius:4px;padding:.25rem .7rem;font:inherit;cursor:pointer}
nav{background:#fff;border-right:1px solid #dde1e6;padding:1rem 0}
nav ul{list-style:none;margin:0;padding:0}
nav a{display:block;padding:.45rem 1rem;text-decoration:none;color:#1b1f24}
nav a:hover{background:#eef2f7}
nav a[aria-current=page]{background:#e3ecfb;border-left:4px solid #0b57d0;padding-left:calc(1rem - 4px);font-weight:600}
main{padding:1rem 1.5rem 3rem;min-width:0}
main:focus{outline:none}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
.notice{padding:.6rem .9rem;border-radius:6px;margin:0 0 1rem}
.notice-ok{background:#e5f4ea;border:1px solid #8cc7a0}
.notice-error{background:#fdecea;border:1px solid #e5a19b}
.empty{background:#fff;border:1px dashed #b8c0cc;border-radius:6px;padding:1rem;color:#444}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.8rem;margin-bottom:1rem}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:.8rem 1rem}
.card .value{font-size:1.6rem;font-weight:650}
.card .label{color:#555;font-size:.85rem}
.panel{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:.8rem 1rem;margin-bottom:1rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(26rem,100%),1fr));gap:.8rem}
.panel h2{margin-top:0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:.45rem .5rem;text-align:left;vertical-align:top}
th{font-size:.85rem;color:#444;background:#f0f2f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
pre.args{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;border:1px solid #e3e6ea;border-radius:4px;padding:.4rem .6rem;margin:0;max-height:16rem;overflow:auto}
mark.ctl{background:#ffd54f;color:#000;border-radius:3px;padding:0 2px;font-size:.85em}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end;margin-bottom:1rem}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.85rem;color:#333;gap:.2rem}
form.stack{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end}
input,select,button{font:inherit}
fieldset{border:1px solid #dde1e6;border-radius:6px;margin:0 0 .6rem;padding:.4rem .8rem;background:#fbfcfd;display:flex;flex-wrap:wrap;gap:.3rem .9rem;min-width:0;max-width:100%;box-sizing:border-box}
legend{font-size:.85rem;color:#333;font-weight:600;padding:0 .3rem}
form.stack label.check,label.check{display:flex;flex-direction:row;flex-wrap:wrap;align-items:center;gap:.2rem .4rem;font-size:.9rem;min-width:0}
label.check input{flex-shrink:0}
input,select{padding:.35rem .5rem;border:1px solid #b8c0cc;border-radius:4px;background:#fff;min-width:0}
button{padding:.4rem .9rem;border:1px solid #0b57d0;border-radius:4px;background:#0b57d0;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b57d0}
button.danger{background:#b3261e;border-color:#b3261e}
form.inline{display:inline}
a.button-link{display:inline-block;padding:.4rem .9rem;border:1px solid #0b57d0;border-radius:4px;color:#0b57d0;background:#fff;text-decoration:none}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.approval{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:.8rem 1rem;margin-bottom:.8rem}
.approval dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
.approval dt{color:#555}
.approval dd{margin:0;min-width:0}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.8rem}
.pager{display:flex;gap:1rem;margin-top:.8rem}
.badge{display:inline-block;border-radius:10px;padding:0 .5rem;font-size:.8rem;background:#e8eaed}
.badge-allow,.badge-active,.badge-approved,.badge-ok,.badge-enabled{background:#d5f0de}
.badge-deny,.badge-denied,.badge-revoked,.badge-disabled,.badge-bad{background:#fbd9d6}
.badge-error,.badge-needs_reauth,.badge-expired{background:#ffe7b3}
.badge-pending{background:#dbe7fb}
.secret{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;background:#fffbe6;border:1px solid #e6c200;border-radius:6px;padding:.6rem .8rem;margin-bottom:1rem}
.secret code{word-break:break-all;font-size:1rem}
.not-saved pre{margin:0;white-space:pre-wrap;word-break:break-word}
svg.chart{width:100%;height:auto;display:block}
svg.chart .bar-calls{fill:#4a78c2}
svg.chart .bar-errors{fill:#d9822b}
svg.chart .bar-denials{fill:#b3261e}
svg.chart .line-latency{fill:none;stroke:#6b3fa0;stroke-width:2}
svg.chart .axis{stroke:#9aa3ad;stroke-width:1}
svg.chart text{font-size:11px;fill:#444}
.legend{display:flex;flex-wrap:wrap;gap:.8rem;font-size:.85rem;margin:.2rem 0 .4rem}
.legend span::before{content:"";display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.legend .calls::before{background:#4a78c2}.legend .errors::before{background:#d9822b}.legend .denials::before{background:#b3261e}.legend .latency::before{background:#6b3fa0}
textarea{font:inherit;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;padding:.35rem .5rem;border:1px solid #b8c0cc;border-radius:4px;width:100%}
form.stack label.wide{flex-basis:100%}
main>.scroll{margin-bottom:1rem}
.progress{display:flex;align-items:center;gap:.6rem;margin:.4rem 0 0;flex-basis:100%}
.progress[hidden]{display:none}
table.facts{width:auto;margin-bottom:.6rem}
table.facts th{background:none;font-weight:600;color:#333}
.pickers{flex-basis:100%;min-width:0;max-width:100%}
.tool-filter{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end;flex-basis:100%}.tool-filter[hidden],.pickers li[hidden]{display:none}
.tool-filter label{display:flex;flex-direction:column;font-size:.85rem;color:#333;gap:.2rem}
ul.tools{list-style:none;margin:.3rem 0 0;padding:0 0 0 1.2rem;columns:2 16rem}
label.check small{color:#555}
.pickers li{display:flex;flex-wrap:wrap;gap:0 .8rem;break-inside:avoid}
label.approval-pick{color:#7a4b00}
form.toolset-form:not(:has(select[name=approval] option[value=tools]:checked)) .approval-pick{display:none}
details.connect-clients{margin:.6rem 0}
details.connect-clients summary{cursor:pointer;font-weight:600;color:#0b57d0}
.connect{margin:.5rem 0}
.connect h3{font-size:1rem;margin:.6rem 0 .2rem}
.connect pre{background:#f6f8fa;border:1px solid #e3e6ea;border-radius:4px;padding:.4rem .6rem;white-space:pre-wrap;word-break:break-all;margin:.2rem 0}
ul.warnings{max-height:14rem;overflow:auto}
@media (max-width:760px){
body{display:block}
nav{border-right:0;border-bottom:1px solid #dde1e6;padding:0}
nav ul{display:flex;overflow-x:auto;white-space:nowrap}
nav a{padding:.6rem .8rem}
nav a[aria-current=page]{border-left:0;border-bottom:3px solid #0b57d0;padding-left:.8rem}
main{padding:1rem .8rem 2rem}
header.top .who{margin-left:0}
table.stack-on-phone thead{display:none}
table.stack-on-phone tr{display:block;border-bottom:2px solid #dde1e6;padding:.3rem 0}
table.stack-on-phone td{display:flex;gap:.6rem;border:0;padding:.2rem .5rem}
table.stack-on-phone td::before{content:attr(data-label);font-weight:600;min-width:6.5rem;color:#444}
}
`,
  },
  'console.js': {
    type: 'text/javascript; charset=utf-8',
    body: `'use strict';
document.addEventListener('submit', function (event) {
  var button = event.submitter;
  var message = (button && button.getAttribute('data-confirm')) || event.target.getAttribute('data-confirm');
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener('submit', function (event) {
  var form = event.target;
  if (event.defaultPrevented || !form.hasAttribute('data-progress')) return;
  var box = form.querySelector('.progress');
  if (!box) return;
  box.hidden = false;
  var label = box.querySelector('span');
  if (label) label.textContent = form.getAttribute('data-progress');
  var text = form.querySelector('textarea[name=text]');
  // The bar stays indeterminate: the import's own time is not known in advance; the size says what is under way.
  if (label && text && text.value.length > 0) {
    label.textContent += ' (' + (text.value.length / 1048576).toFixed(1) + ' MB)';
  }
});
document.addEventListener('change', function (event) {
  var input = event.target;
  if (!input.hasAttribute || !input.hasAttribute('data-file-into') || !input.files || !input.files[0]) return;
  var target = document.getElementById(input.getAttribute('data-file-into'));
  var reader = new FileReader();
  reader.onload = function () { if (target) target.value = String(reader.result); };
  reader.readAsText(input.files[0]);
});
function filterTools(box) {
  var text = box.querySelector('[data-filter-text]').value.trim().toLowerCase();
  var access = box.querySelector('[data-filter-access]').value;
  var scopeSelect = box.querySelector('[data-filter-scope]');
  var scope = scopeSelect ? scopeSelect.value : '';
  var rows = box.parentNode.querySelectorAll('.pickers li');
  var shown = 0;
  rows.forEach(function (row) {
    var input = row.querySelector('input[name=tools]');
    var match = (!text || input.value.toLowerCase().indexOf(text) !== -1) &&
      (!access || input.getAttribute('data-access') === access) &&
      (!scope || (' ' + row.getAttribute('data-scopes') + ' ').indexOf(' ' + scope + ' ') !== -1);
    row.hidden = !match;
    if (match) shown++;
  });
  var count = box.querySelector('[data-filter-count]');
  if (count) count.textContent = shown + ' of ' + rows.length + ' tools shown';
}
document.querySelectorAll('[data-tool-filter]').forEach(function (box) {
  box.hidden = false;
  box.addEventListener('input', function () { filterTools(box); });
  box.addEventListener('change', function () { filterTools(box); });
});
document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button[data-copy]');
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent || '').then(function () { button.textContent = 'Copied'; }, function () {});
});
`,
  },
};
