// Atlas Streams dashboard: vanilla JS, no library, nothing loaded from another origin.
// The page and this script need no key; every data call sends the key the user signed in with.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (v) => {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v.toLocaleString("en");
    return Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(+v.toPrecision(5));
  }
  return esc(v);
};
const pct = (v) => (v === null || v === undefined ? "–" : `${+v.toFixed(2)}%`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const enc = encodeURIComponent;

let key = sessionStorage.getItem("atlas-key") || "";
let permissions = new Set();
let timer = null;
const rates = new Map(); // dataset -> {rows, at, perSecond}

class ApiError extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { "X-API-Key": key, ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    signOut("That key was refused: sign in again.");
    throw new ApiError("signed out");
  }
  if (!response.ok) throw new ApiError(`${response.status}: ${body.error || response.statusText}`);
  return body;
}

function showError(error) {
  if (!(error instanceof ApiError && error.message === "signed out")) $("#error").textContent = error.message;
}

// ---- session ------------------------------------------------------------------------------

async function signIn(newKey) {
  key = newKey;
  sessionStorage.setItem("atlas-key", key);
  const me = await api("/rbac/my-permissions");
  permissions = new Set(me.permissions);
  $("#who").textContent = `${me.user.username} (${me.user.roles.join(", ")})`;
  $("#signin").hidden = true;
  $("#nav").hidden = false;
  $("#session").hidden = false;
  $("#nav-audit").hidden = !permissions.has("admin:audit");
  schedule();
  await render();
}

function signOut(message) {
  key = "";
  permissions = new Set();
  sessionStorage.removeItem("atlas-key");
  clearInterval(timer);
  $("#view").innerHTML = "";
  $("#nav").hidden = true;
  $("#session").hidden = true;
  $("#signin").hidden = false;
  $("#error").textContent = message || "";
  $("#key").value = "";
  $("#key").focus();
}

function schedule() {
  clearInterval(timer);
  if ($("#live").checked) {
    timer = setInterval(() => {
      // Never redraw under a keyboard or pointer user who is choosing something.
      const active = document.activeElement;
      if (active && active.closest("#view") && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return;
      render(true).catch(showError);
    }, 5000);
  }
}

// ---- routing ------------------------------------------------------------------------------

async function render(quiet = false) {
  if (!key) return;
  if (!quiet) $("#error").textContent = "";
  const [, kind, name] = location.hash.match(/^#\/(dataset|model|audit)?\/?(.*)$/) || [];
  const view = $("#view");
  if (kind === "dataset") return renderDataset(view, decodeURIComponent(name), quiet);
  if (kind === "model") return renderModel(view, decodeURIComponent(name), quiet);
  if (kind === "audit") return renderAudit(view, quiet);
  return renderOverview(view);
}

// ---- overview -----------------------------------------------------------------------------

function trackRate(dataset) {
  const now = Date.now();
  const last = rates.get(dataset.dataset_id);
  let perSecond = last ? last.perSecond : null;
  if (last && now > last.at && dataset.row_count >= last.rows) {
    perSecond = (dataset.row_count - last.rows) / ((now - last.at) / 1000);
  }
  rates.set(dataset.dataset_id, { rows: dataset.row_count, at: now, perSecond });
  return perSecond;
}

async function renderOverview(view) {
  const board = await api("/dashboard/data");
  const datasets = board.datasets.map((d) => { const rate = trackRate(d); return `<tr>
      <td class="name"><a href="#/dataset/${enc(d.dataset_id)}">${esc(d.dataset_id)}</a></td>
      <td class="n">${fmt(d.row_count)}</td><td class="n">${rate === null ? "–" : fmt(Math.round(rate))}</td>
      <td class="n">${fmt(d.invalid_count)}</td><td class="n">${fmt(d.column_count)}</td>
      <td>${when(d.updated_at)}</td></tr>`; }).join("");
  const models = (board.models || []).map((m) => `<tr>
      <td class="name"><a href="#/model/${enc(m.name)}">${esc(m.name)}</a></td>
      <td>${m.latest ? esc(m.latest) : "–"}</td>
      <td>${m.production ? `<span class="badge stage-production">${esc(m.production)}</span>` : "–"}</td>
      <td class="n">${fmt(m.versions)}</td><td class="wrap muted">${esc(m.description)}</td></tr>`).join("");
  view.innerHTML = `
    <section class="card"><h2>Datasets</h2><div class="scroll"><table id="datasets">
      <tr><th>dataset</th><th class="n">rows</th><th class="n">rows/s</th><th class="n">invalid</th>
      <th class="n">columns</th><th>last update</th></tr>
      ${datasets || `<tr><td colspan="6" class="muted">no datasets yet</td></tr>`}</table></div></section>
    <section class="card"><h2>Models</h2><div class="scroll"><table id="models">
      <tr><th>model</th><th>latest</th><th>production</th><th class="n">versions</th><th>description</th></tr>
      ${board.models ? models || `<tr><td colspan="5" class="muted">no models yet</td></tr>`
        : `<tr><td colspan="5" class="muted">models are not visible to this key</td></tr>`}</table></div></section>
    ${board.audit ? `<section class="card"><h2>Recent access decisions</h2>${auditTable(board.audit.slice(0, 10))}
      <p><a href="#/audit">All decisions, with filters</a></p></section>` : ""}`;
}

// ---- a dataset ----------------------------------------------------------------------------

function histogram(h) {
  if (!h || !h.counts || !h.counts.length) return "";
  const W = 300, H = 120, left = 34, bottom = 28, top = 6;
  const max = Math.max(...h.counts, 1), n = h.counts.length, bw = (W - left - 4) / n;
  const y = (c) => top + (H - top - bottom) * (1 - c / max);
  const bars = h.counts.map((c, i) => `<rect class="bar" x="${left + i * bw + 0.5}" y="${y(c)}"
      width="${Math.max(bw - 1, 1)}" height="${H - bottom - y(c)}"><title>[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])}): ${fmt(c)}</title></rect>`).join("");
  const ticks = [0, Math.floor(n / 2), n].map((i) => `<line class="axis" x1="${left + i * bw}" x2="${left + i * bw}"
      y1="${H - bottom}" y2="${H - bottom + 4}"/><text x="${left + i * bw}" y="${H - bottom + 15}"
      text-anchor="${i === 0 ? "start" : i === n ? "end" : "middle"}">${fmt(h.edges[i])}</text>`).join("");
  return `<figure class="hist">${barAxes({ W, H, left, top, bottom, max },
    `histogram of ${n} bins from ${fmt(h.edges[0])} to ${fmt(h.edges[n])}, largest bin ${fmt(max)}`,
    `${bars}${ticks}<text x="${(W + left) / 2}" y="${H - 2}" text-anchor="middle">value (${n} bins); rows per bin</text>`)}</figure>`;
}

// An SVG bar chart's axes, labelled 0 and ``max``, around ``body`` (histograms, windows).
function barAxes({ W, H, left, top, bottom, max }, label, body) {
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${label}">
    <line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}"/>
    <line class="axis" x1="${left}" x2="${W - 4}" y1="${H - bottom}" y2="${H - bottom}"/>
    <text x="${left - 4}" y="${top + 8}" text-anchor="end">${fmt(max)}</text>
    <text x="${left - 4}" y="${H - bottom}" text-anchor="end">0</text>
    ${body}
  </svg>`;
}

function topValues(col) {
  const top = col.top_values || [];
  // A list of values seen once each (a unique id, say) says nothing: leave it out.
  if (!top.length || top[0].count <= 1) return "";
  const max = top[0].count;
  const rows = top.slice(0, 10).map((t) => {
    const b = t.count_bounds;
    const bounds = b && (b.lower !== t.count || b.upper !== t.count) ? ` (${fmt(b.lower)}–${fmt(b.upper)})` : "";
    return `<span class="val">${esc(t.value)}</span><meter min="0" max="${max}" value="${t.count}"
      aria-label="${esc(t.value)}: ${t.count}"></meter><span class="cnt">${fmt(t.count)}${bounds}</span>`;
  }).join("");
  return `<h3>Top values</h3><div class="bars" role="list">${rows}</div>`;
}

function quantiles(col) {
  if (!col.quantiles) return "";
  const cells = Object.entries(col.quantiles);
  return `<h3>Quantiles</h3><div class="scroll"><table class="quantiles"><tr>${cells.map(([q]) => `<th class="n">p${+(q * 100).toFixed(2)}</th>`).join("")}</tr>
    <tr>${cells.map(([, v]) => `<td class="n">${fmt(v)}</td>`).join("")}</tr></table></div>
    ${col.quantile_rank_error !== undefined ? `<p class="muted">rank error ≤ ${pct(col.quantile_rank_error * 100)}</p>` : ""}`;
}

function columnCard(name, col) {
  const d = col.distinct_bounds;
  const stats = [
    ["count", fmt(col.count)], ["nulls", `${fmt(col.null_count)} (${pct(col.null_percent)})`],
    ["distinct", `~${fmt(col.distinct_estimate)}${d ? ` <span class="muted">(${fmt(d.lower)}–${fmt(d.upper)})</span>` : ""}`],
  ];
  if (col.min !== undefined) stats.push(["min", fmt(col.min)], ["max", fmt(col.max)]);
  if (col.mean !== undefined) stats.push(["mean", fmt(col.mean)], ["std", fmt(col.std)]);
  if (col.median !== undefined) stats.push(["median", fmt(col.median)]);
  if (col.string_length) {
    const s = col.string_length;
    stats.push(["length", `${fmt(s.min)}–${fmt(s.max)}, mean ${fmt(s.mean)}`]);
  }
  if (col.memory_bytes !== undefined) stats.push(["bytes", fmt(col.memory_bytes)]);
  return `<article class="card column" data-column="${esc(name)}">
    <h3 class="name">${esc(name)} <span class="badge">${esc(col.type)}</span>
      ${col.masked ? '<span class="badge masked">masked</span>' : ""}</h3>
    <dl class="stats">${stats.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>
    ${col.masked ? '<p class="masked">Values are masked for your key: counts only.</p>' : ""}
    ${histogram(col.histogram)}${quantiles(col)}${topValues(col)}
  </article>`;
}

async function renderDataset(view, name, quiet) {
  const [profile, snaps, timeline] = await Promise.all([
    api(`/catalog/datasets/${enc(name)}/profile`),
    api(`/catalog/datasets/${enc(name)}/snapshots`),
    timelineOf(name),
  ]);
  const prev = quiet && $("#compare-a") ? [$("#compare-a").value, $("#compare-b").value, $("#comparison").innerHTML] : null;
  const prevDrift = quiet && $("#drift-reference") ? [$("#drift-reference").value, $("#drift-current").value, $("#drift-result").innerHTML] : null;
  const options = [`<option value="">current profile</option>`, ...snaps.snapshots.map((s) =>
    `<option value="${esc(s.run_id)}">${when(s.created_at)} (${fmt(s.row_count)} rows)</option>`)].join("");
  const cards = Object.entries(profile.columns).map(([c, col]) => columnCard(c, col)).join("");
  view.innerHTML = `
    <section class="card"><h2 class="name">${esc(name)}</h2>
      <p>${fmt(profile.row_count)} rows, ${fmt(profile.invalid_count)} invalid messages,
        ${Object.keys(profile.columns).length} columns; updated ${when(profile.updated_at)}.</p></section>
    <div class="grid" id="columns">${cards}</div>
    <section class="card"><h2>Snapshots</h2>
      ${permissions.has("catalog:write") ? '<p><button type="button" id="snapshot">Take a snapshot now</button></p>' : ""}
      <div class="scroll"><table id="snapshots"><tr><th>taken</th><th class="n">rows</th><th>run id</th></tr>
      ${snaps.snapshots.map((s) => `<tr><td>${when(s.created_at)}</td><td class="n">${fmt(s.row_count)}</td>
        <td class="wrap"><code>${esc(s.run_id)}</code></td></tr>`).join("") || '<tr><td colspan="3" class="muted">no snapshots yet</td></tr>'}
      </table></div>
      <h3>Compare two profiles</h3>
      <div class="toolbar"><label>left <select id="compare-a">${options}</select></label>
        <label>right <select id="compare-b">${options}</select></label>
        <button type="button" id="compare">Compare</button></div>
      <div id="comparison">${prev ? prev[2] : ""}</div></section>
    ${windowsSection(timeline)}${driftSection(timeline)}`;
  if (prev) { $("#compare-a").value = prev[0]; $("#compare-b").value = prev[1]; }
  if ($("#drift-compare")) {
    if (prevDrift) { // keep the user's choice while it still names a window, and the last answer until the new one
      for (const [sel, value] of [["#drift-reference", prevDrift[0]], ["#drift-current", prevDrift[1]]]) {
        if ([...$(sel).options].some((o) => o.value === value)) $(sel).value = value;
      }
      $("#drift-result").innerHTML = prevDrift[2];
    }
    $("#drift-compare").onclick = () => showDrift(name);
    showDrift(name);
  }
  $("#compare").onclick = () => compareProfiles(name).catch(showError);
  if ($("#snapshot")) $("#snapshot").onclick = () => api(`/catalog/datasets/${enc(name)}/profile`, { method: "POST" })
    .then(() => render()).catch(showError);
}

async function compareProfiles(name) {
  const load = (run) => api(run ? `/catalog/profile/by-run/${enc(run)}` : `/catalog/datasets/${enc(name)}/profile`);
  const [a, b] = await Promise.all([load($("#compare-a").value), load($("#compare-b").value)]);
  const fields = ["count", "null_percent", "distinct_estimate", "min", "max", "mean", "std", "median"];
  const columns = [...new Set([...Object.keys(a.columns), ...Object.keys(b.columns)])];
  const rows = columns.map((c) => fields.filter((f) => (a.columns[c] || {})[f] !== undefined || (b.columns[c] || {})[f] !== undefined)
    .map((f, i, present) => {
      const va = (a.columns[c] || {})[f], vb = (b.columns[c] || {})[f];
      const diff = typeof va === "number" && typeof vb === "number" ? vb - va : null;
      return `<tr>${i === 0 ? `<td class="name" rowspan="${present.length}">${esc(c)}</td>` : ""}<td>${f}</td>
        <td class="n">${fmt(va)}</td><td class="n">${fmt(vb)}</td>
        <td class="n ${diff > 0 ? "up" : diff < 0 ? "down" : ""}">${diff === null ? "" : fmt(diff)}</td></tr>`;
    }).join("")).join("");
  $("#comparison").innerHTML = `<div class="scroll"><table><tr><th>column</th><th>field</th>
    <th class="n">left (${fmt(a.row_count)} rows)</th><th class="n">right (${fmt(b.row_count)} rows)</th>
    <th class="n">right − left</th></tr>${rows}</table></div>`;
}

// ---- a dataset's windows and drift ------------------------------------------------------

const MAX_WINDOWS = 60; // shown in the table and the chart; every window stays selectable for drift
let driftSeq = 0; // only the answer to the latest drift request is drawn

// A panel whose data could not be loaded says why, in words, instead of staying blank.
function problem(what, error) {
  if (error instanceof ApiError && error.message === "signed out") return "";
  return `<p class="problem" role="status">${esc(what)}: ${esc(error.message)}</p>`;
}

// Each part settles on its own: a dataset without windows (or a refused call) still shows its profile.
async function timelineOf(name) {
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  const [windows, windowing, events] = await Promise.all([
    settle(api(`/catalog/datasets/${enc(name)}/windows`)),
    settle(api(`/catalog/datasets/${enc(name)}/windowing`)),
    settle(api(`/catalog/datasets/${enc(name)}/drift-events`)),
  ]);
  return { windows, windowing, events };
}

function windowChart(list) {
  if (!list.length) return "";
  const W = 600, H = 130, left = 40, bottom = 22, top = 8;
  const max = Math.max(...list.map((w) => w.row_count), 1), n = list.length, bw = (W - left - 4) / n;
  const y = (c) => top + (H - top - bottom) * (1 - c / max);
  const bars = list.map((w, i) => {
    const x = left + i * bw + 0.5, width = Math.max(bw - 1, 1);
    const late = w.late_count > 0 ? `<rect class="late" x="${x}" y="${y(w.late_count)}" width="${width}"
        height="${H - bottom - y(w.late_count)}"/>` : "";
    return `<g data-start="${esc(w.start)}"><rect class="bar${w.closed ? "" : " open"}" x="${x}" y="${y(w.row_count)}"
        width="${width}" height="${H - bottom - y(w.row_count)}"/>${late}<title>${when(w.start)} – ${when(w.end)}:
        ${fmt(w.row_count)} rows, ${fmt(w.late_count)} late${w.closed ? "" : " (open)"}</title></g>`;
  }).join("");
  return `<figure class="windows-chart">${barAxes({ W, H, left, top, bottom, max },
    `rows per window for ${n} windows, largest ${fmt(max)}`,
    `${bars}<text x="${left}" y="${H - 6}" text-anchor="start">${when(list[0].start)}</text>
    <text x="${W - 4}" y="${H - 6}" text-anchor="end">${when(list[n - 1].start)}</text>`)}<figcaption class="muted">rows per window, oldest to newest; late rows darker, open windows paler</figcaption></figure>`;
}

function windowsSection(t) {
  const c = t.windowing.value;
  const config = c ? `<p class="muted">Windows of ${esc(c.size)} on ${c.event_time ? `column <code>${esc(c.event_time)}</code>`
    : "the message timestamp"}, grace ${esc(c.grace)}, kept ${esc(c.retention)}${c.configured ? "" : " (the defaults)"}.</p>` : "";
  let body;
  if (t.windows.error) body = problem("The windows could not be loaded", t.windows.error);
  else {
    const w = t.windows.value, list = w.windows.slice(-MAX_WINDOWS);
    const rows = list.slice().reverse().map((x) => `<tr data-start="${esc(x.start)}" class="${x.closed ? "closed" : "open"}">
        <td>${when(x.start)}</td><td>${when(x.end)}</td><td class="n rows">${fmt(x.row_count)}</td>
        <td class="n late">${fmt(x.late_count)}</td><td class="state">${x.closed ? "closed" : "open"}</td></tr>`).join("");
    body = `<p>${fmt(w.count)} windows${w.count > list.length ? `, the newest ${list.length} shown` : ""}; watermark
        ${when(w.watermark)}; ${fmt(w.rejected_count)} rows without a usable event time, ${fmt(w.expired_count)}
        after their window expired.</p>
      ${windowChart(list)}
      <div class="scroll"><table id="windows"><tr><th>start</th><th>end</th><th class="n">rows</th>
        <th class="n">late rows</th><th>state</th></tr>
        ${rows || '<tr><td colspan="5" class="muted">no windows yet</td></tr>'}</table></div>`;
  }
  return `<section class="card" id="windows-card"><h2>Windows</h2>${config}${body}</section>`;
}

function driftEvents(t) {
  if (t.events.error) return problem("The drift events could not be loaded", t.events.error);
  const { verdicts, events } = t.events.value;
  if (!verdicts.length) return '<p class="muted">No monitor verdict yet: a drift monitor (PUT …/monitor) judges each window as it closes.</p>';
  const drifted = verdicts.filter((v) => v.drift).length;
  const rows = events.slice(-20).reverse().map((e) => `<tr><td>${when(e.window)}</td><td class="name">${esc(e.column)}</td>
      <td>${esc(e.metric)}</td><td class="n">${fmt(e.value)}</td><td class="n">${fmt(e.threshold)}</td>
      <td>${e.corrected ? "after late rows" : ""}</td></tr>`).join("");
  return `<p>${fmt(verdicts.length)} windows judged against <code>${esc(verdicts[verdicts.length - 1].reference)}</code>,
      ${fmt(drifted)} drifted.</p>
    ${rows ? `<div class="scroll"><table id="drift-event-list"><tr><th>window</th><th>column</th><th>metric</th>
      <th class="n">value</th><th class="n">threshold</th><th></th></tr>${rows}</table></div>`
      : '<p class="muted">No drift event: every judged window stayed within the thresholds.</p>'}`;
}

function driftSection(t) {
  let body;
  if (t.windows.error) body = problem("Drift compares windows, which could not be loaded", t.windows.error);
  else if (!t.windows.value.windows.length) body = '<p class="muted">No windows yet: drift compares two windows.</p>';
  else {
    // Default: the oldest closed window against the latest closed one (open ones while none closed).
    const list = t.windows.value.windows, closed = list.filter((w) => w.closed);
    const reference = `window:${(closed[0] || list[0]).start}`;
    const current = closed.length ? "latest" : `window:${list[list.length - 1].start}`;
    const refs = [["latest", "latest closed window"], ...list.slice().reverse().map((w) =>
      [`window:${w.start}`, `${when(w.start)} (${fmt(w.row_count)} rows${w.closed ? "" : ", open"})`])];
    const options = (chosen) => refs.map(([value, label]) =>
      `<option value="${esc(value)}"${value === chosen ? " selected" : ""}>${label}</option>`).join("");
    body = `<div class="toolbar"><label>reference <select id="drift-reference">${options(reference)}</select></label>
        <label>current <select id="drift-current">${options(current)}</select></label>
        <button type="button" id="drift-compare">Compare</button></div>
      <div id="drift-result" aria-live="polite"></div>`;
  }
  return `<section class="card" id="drift-card"><h2>Drift</h2>${body}
    <h3>Drift events</h3><div id="drift-events">${driftEvents(t)}</div></section>`;
}

function driftTable(d) {
  const entries = Object.entries(d.columns);
  const metrics = [...new Set(entries.flatMap(([, c]) => Object.keys(c.metrics)))];
  const rows = entries.map(([name, c]) => `<tr data-column="${esc(name)}" class="${c.drift ? "drifted" : ""}">
      <td class="name">${esc(name)}</td><td><span class="badge">${esc(c.type)}</span></td>
      <td class="flag">${c.drift ? `<span class="badge drift">drift</span>` : '<span class="muted">ok</span>'}</td>
      ${metrics.map((m) => {
        const b = (c.bounds || {})[m];
        const bounds = b && (b.lower !== c.metrics[m] || b.upper !== c.metrics[m]) ? ` title="between ${fmt(b.lower)} and ${fmt(b.upper)}"` : "";
        return `<td class="n${c.by.includes(m) ? " breach" : ""}" data-metric="${esc(m)}"${bounds}>${fmt(c.metrics[m])}</td>`;
      }).join("")}</tr>`).join("");
  const s = d.schema_changes || {};
  const retyped = Object.entries(s.retyped || {}).map(([n, r]) => `${esc(n)} (${esc(r.reference)} → ${esc(r.current)})`);
  const changes = [["new columns", (s.new || []).map(esc)], ["vanished", (s.vanished || []).map(esc)],
    ["retyped", retyped], ["missing", (s.missing || []).map(esc)]].filter(([, names]) => names.length)
    .map(([what, names]) => `<li>${what}: ${names.join(", ")}</li>`).join("");
  return `<p><code>${esc(d.current)}</code> against <code>${esc(d.reference)}</code>:
      <span class="badge ${d.drift ? "drift" : "ok"}" id="drift-verdict">${d.drift ? "drift" : "no drift"}</span>
      ${d.drifted_columns.length ? `in ${d.drifted_columns.map((c) => `<b class="name">${esc(c)}</b>`).join(", ")}` : ""}</p>
    ${changes ? `<ul class="schema-changes">${changes}</ul>` : ""}
    ${entries.length ? `<div class="scroll"><table id="drift-columns"><tr><th>column</th><th>type</th><th>drift</th>
      ${metrics.map((m) => `<th class="n">${esc(m)}</th>`).join("")}</tr>${rows}</table></div>
      <p class="muted">Metrics past their threshold in red; hover a value for the interval holding its exact value.</p>`
      : '<p class="muted">No column in common to compare.</p>'}`;
}

// Never rejects: an error of the drift call (no closed window yet, a bad ref) is shown in the panel.
async function showDrift(name) {
  const seq = ++driftSeq;
  const reference = $("#drift-reference").value, current = $("#drift-current").value;
  let html;
  try {
    const d = await api(`/catalog/datasets/${enc(name)}/drift?reference=${enc(reference)}&current=${enc(current)}`);
    html = driftTable(d);
  } catch (error) {
    html = problem("The drift could not be computed", error);
  }
  const out = $("#drift-result");
  if (seq === driftSeq && out) out.innerHTML = html;
}

// ---- a model ------------------------------------------------------------------------------

const badge = (stage) => `<span class="badge stage-${esc(stage)}">${esc(stage)}</span>`;

function lineage(l) {
  if (!l) return '<span class="muted">–</span>';
  // profile_run_id repeats training_run_id (its older name): shown once
  return Object.entries(l).filter(([k, v]) => k !== "profile_run_id" && v !== null
      && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${esc(k)}: ${esc(Array.isArray(v) ? v.join(", ") : v)}`).join("<br>");
}

async function renderModel(view, name, quiet) {
  const model = await api(`/models/${enc(name)}`);
  const keep = quiet && $("#version-comparison") ? $("#version-comparison").innerHTML : "";
  const versions = model.versions.map((v) => `<tr><td><b>${esc(v.version)}</b></td><td>${badge(v.stage)}</td>
      <td>${esc(v.framework)}</td>
      <td>${Object.entries(v.metrics).map(([k, m]) => `${esc(k)} ${fmt(m)}`).join("<br>") || "–"}</td>
      <td class="wrap">${lineage(v.lineage)}</td><td>${when(v.created_at)}</td></tr>`).join("");
  const options = model.versions.map((v) => `<option>${esc(v.version)}</option>`).join("");
  view.innerHTML = `
    <section class="card"><h2 class="name">${esc(model.name)}</h2>
      <p class="wrap">${esc(model.description) || '<span class="muted">no description</span>'}</p>
      <p>latest ${model.latest ? esc(model.latest) : "–"}; production
        ${model.production ? `<span class="badge stage-production" id="production">${esc(model.production)}</span>` : "–"};
        tags ${model.tags.map(esc).join(", ") || "–"}</p></section>
    <section class="card"><h2>Versions</h2><div class="scroll"><table id="versions">
      <tr><th>version</th><th>stage</th><th>framework</th><th>metrics</th><th>lineage</th><th>created</th></tr>
      ${versions || '<tr><td colspan="6" class="muted">no versions yet</td></tr>'}</table></div></section>
    ${model.versions.length > 1 ? `<section class="card"><h2>Compare versions</h2>
      <div class="toolbar"><label>A <select id="version-a">${options}</select></label>
      <label>B <select id="version-b">${options}</select></label>
      <button type="button" id="compare-versions">Compare</button></div>
      <div id="version-comparison">${keep}</div></section>` : ""}`;
  if ($("#version-b")) $("#version-b").selectedIndex = 1;
  if ($("#compare-versions")) $("#compare-versions").onclick = () => compareVersions(name).catch(showError);
}

async function compareVersions(name) {
  const a = $("#version-a").value, b = $("#version-b").value;
  const c = await api(`/models/${enc(name)}/compare?version_a=${enc(a)}&version_b=${enc(b)}`);
  const rows = c.metrics.map((m) => `<tr><td>${esc(m.metric)}</td><td class="n">${fmt(m.a)}</td><td class="n">${fmt(m.b)}</td>
    <td class="n ${m.difference > 0 ? "up" : m.difference < 0 ? "down" : ""}">${fmt(m.difference)}</td></tr>`).join("");
  const only = (side, metrics) => Object.keys(metrics).length ? `<p class="muted">only in ${side}: ${Object.entries(metrics).map(([k, v]) => `${esc(k)} ${fmt(v)}`).join(", ")}</p>` : "";
  $("#version-comparison").innerHTML = `<div class="scroll"><table><tr><th>metric</th><th class="n">${esc(a)}</th>
    <th class="n">${esc(b)}</th><th class="n">A − B</th></tr>${rows || '<tr><td colspan="4" class="muted">no metric in common</td></tr>'}</table></div>
    ${only(a, c.only_in_a)}${only(b, c.only_in_b)}`;
}

// ---- the audit ----------------------------------------------------------------------------

function auditTable(events) {
  return `<div class="scroll"><table class="audit"><tr><th>time</th><th>decision</th><th>request</th><th>user</th><th>reason</th></tr>
    ${events.map((a) => `<tr class="${a.allowed ? "allowed" : "denied"}"><td>${when(a.ts)}</td>
      <td class="decision">${a.allowed ? "allowed" : "denied"} ${esc(a.status)}</td>
      <td class="wrap">${esc(a.method)} ${esc(a.path)}</td><td class="wrap">${esc(a.user_id || "anonymous")}</td>
      <td class="muted">${esc(a.reason)}</td></tr>`).join("") || '<tr><td colspan="5" class="muted">no decisions</td></tr>'}</table></div>`;
}

async function renderAudit(view, quiet) {
  const user = $("#audit-user")?.value || "", decision = $("#audit-decision")?.value || "";
  const query = new URLSearchParams({ limit: "200" });
  if (user) query.set("user", user);
  if (decision) query.set("decision", decision);
  const logs = await api(`/rbac/access-logs?${query}`);
  if (quiet && $("#audit-results")) { $("#audit-results").innerHTML = auditTable(logs.events); return; }
  view.innerHTML = `<section class="card"><h2>Access decisions</h2>
    <form class="toolbar" id="audit-filters"><label>user id <input id="audit-user" value="${esc(user)}"></label>
      <label>decision <select id="audit-decision"><option value="">any</option><option>allowed</option><option>denied</option></select></label>
      <button type="submit">Filter</button></form>
    <div id="audit-results">${auditTable(logs.events)}</div></section>`;
  $("#audit-decision").value = decision;
  $("#audit-filters").onsubmit = (event) => { event.preventDefault(); renderAudit(view, true).catch(showError); };
}

// ---- start --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#login").onsubmit = (event) => {
    event.preventDefault();
    signIn($("#key").value.trim()).catch(showError);
  };
  $("#signout").onclick = () => signOut("Signed out.");
  $("#refresh").onclick = () => render().catch(showError);
  $("#live").onchange = schedule;
  window.addEventListener("hashchange", () => render().catch(showError));
  if (location.hash.startsWith("#key=")) { // a fragment never reaches the server or its logs
    key = decodeURIComponent(location.hash.slice(5));
    history.replaceState(null, "", location.pathname);
  }
  if (key) signIn(key).catch(showError); else signOut("");
});
