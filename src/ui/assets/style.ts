/**
 * @module
 * The UI's stylesheet, a module of the module graph (no build step, no CDN; it deploys
 * with the code). Light and dark by `prefers-color-scheme`; tables become stacked cards on
 * narrow screens (each cell labelled by its `data-label`); focus is always visible.
 */
export const STYLE = `
:root {
  --bg: #f7f7f8; --fg: #1b1d22; --muted: #5c6370; --card: #fff; --line: #dcdfe4;
  --accent: #0b5cad; --accent-fg: #fff; --danger: #b3261e; --ok: #1e7b34; --code: #eef0f3;
  --focus: #f5a400;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15171b; --fg: #e6e8eb; --muted: #9aa3ae; --card: #1d2025; --line: #343941;
    --accent: #6cb2ff; --accent-fg: #0d1117; --danger: #ff7b72; --ok: #56d364; --code: #262a31;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--code); padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--code); padding: 12px; border-radius: 6px; overflow: auto; max-height: 70vh; }
pre code { background: none; padding: 0; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: 8px; }
.skip:focus { left: 8px; z-index: 10; }
header.top { background: var(--card); border-bottom: 1px solid var(--line); }
header.top nav {
  max-width: 1180px; margin: 0 auto; padding: 10px 16px; display: flex; flex-wrap: wrap;
  gap: 6px 18px; align-items: center;
}
.brand { font-weight: 700; font-size: 17px; color: var(--fg); display: inline-flex; gap: 8px; align-items: center; }
.brand svg { width: 22px; height: 22px; }
.who { margin-left: auto; display: flex; gap: 10px; align-items: center; color: var(--muted); }
.who form { display: inline; }
main { max-width: 1180px; margin: 0 auto; padding: 18px 16px 40px; }
footer { max-width: 1180px; margin: 0 auto; padding: 12px 16px 32px; color: var(--muted); font-size: 13px; }
h1 { font-size: 24px; margin: 6px 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.crumbs { color: var(--muted); font-size: 14px; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 12px 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.flash { border-left: 4px solid var(--ok); }
.error { border-left: 4px solid var(--danger); }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
tbody tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
.tags { display: flex; flex-wrap: wrap; gap: 4px; }
.chip { display: inline-block; background: var(--code); border-radius: 10px; padding: 0 8px; font-size: 12px; white-space: nowrap; }
form.search { display: flex; gap: 8px; margin: 4px 0 14px; flex-wrap: wrap; }
form.search input { flex: 1 1 240px; }
input[type=search], input[type=text], input[type=password] {
  font: inherit; padding: 7px 10px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--card); color: var(--fg); min-width: 0;
}
button, .button {
  font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-fg); cursor: pointer; display: inline-block;
}
button.plain, .button.plain { background: transparent; color: var(--accent); }
button.danger, .button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
button.small, .button.small { padding: 1px 8px; font-size: 13px; }
.actions { display: flex; gap: 6px; flex-wrap: wrap; }
.pull { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.pull code { flex: 0 1 auto; }
.pager { display: flex; gap: 16px; margin: 12px 0; }
.login { max-width: 360px; }
.login label { display: block; margin: 10px 0 4px; }
.login input { width: 100%; }
.login button { margin-top: 14px; }
.hint { font-size: 13px; color: var(--muted); }
[hidden] { display: none !important; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; margin: 0; }
.danger-text { color: var(--danger); border-color: var(--danger); }
@media (max-width: 720px) {
  body { font-size: 15px; }
  main { padding: 12px 10px 32px; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack thead { display: none; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.stack td { border: 0; padding: 3px 12px; display: grid; grid-template-columns: 7.5em 1fr; gap: 8px; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-size: 13px; }
  table.stack td.num { text-align: left; }
  .facts { grid-template-columns: 1fr; gap: 0 0; }
  .facts dd { margin-bottom: 8px; }
}
`;
